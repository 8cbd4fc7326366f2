import { SseClosedError, StreamTally } from '../../../src/connection';
import { SseEncodeError, SseEventTooLargeError } from '../../../src/wire';
import { FakeResponse, nextTurn, openClient } from './fake-response';

describe('SseClient: what users call', () => {
  it('shows only the documented members', () => {
    const { client } = openClient();
    const members = new Set<string>(Object.keys(client));
    for (
      let proto = Object.getPrototypeOf(client);
      proto !== Object.prototype;
      proto = Object.getPrototypeOf(proto)
    )
      for (const name of Object.getOwnPropertyNames(proto)) if (name !== 'constructor') members.add(name);
    expect([...members].sort()).toEqual(
      [
        'id',
        'request',
        'lastEventId',
        'channels',
        'closed',
        'reason',
        'replay',
        'pendingBytes',
        'send',
        'sendEvent',
        'sendEventOrThrow',
        'user',
        'comment',
        'join',
        'leave',
        'close',
        'onClose',
      ].sort(),
    );
  });
});

describe('SseClient: one guard for send, sendEvent and comment', () => {
  it('refuses every send once closed, with SseClosedError, and writes nothing', async () => {
    const { client, stream, res } = openClient();
    stream.start();
    await nextTurn();
    client.close();
    const before = res.body;
    for (const result of [client.send('x'), client.sendEvent('e', 'x'), client.comment('x')]) {
      expect(result.ok).toBe(false);
      expect(!result.ok && result.error).toBeInstanceOf(SseClosedError);
    }
    expect(() => client.sendEventOrThrow('e', 'x')).toThrow(SseClosedError);
    await nextTurn();
    expect(res.body).toBe(before);
  });

  it('returns what cannot be encoded as the error, writes nothing, and stays open', async () => {
    const { client, stream, res } = openClient({ maxEventBytes: 64 });
    stream.start();
    const twoLines = client.sendEvent('two\nlines', 'x');
    expect(!twoLines.ok && twoLines.error).toBeInstanceOf(SseEncodeError);
    const badRetry = client.sendEvent('e', 'x', { retry: -1 });
    expect(!badRetry.ok && badRetry.error).toBeInstanceOf(SseEncodeError);
    const large = client.send('x'.repeat(100));
    expect(!large.ok && large.error).toBeInstanceOf(SseEventTooLargeError);
    const longComment = client.comment('c'.repeat(100));
    expect(!longComment.ok && longComment.error).toBeInstanceOf(SseEventTooLargeError);
    expect(() => client.sendEventOrThrow('two\nlines', 'x')).toThrow(SseEncodeError);
    expect(client.closed).toBe(false);
    expect(client.send('fine')).toEqual({ ok: true });
    await nextTurn();
    expect(res.body).toBe('data: fine\n\n');
  });

  it('writes each form as the wire layer encodes it, and counts events but not comments', async () => {
    const tally = new StreamTally('route');
    const { client, stream, res } = openClient({ tally });
    stream.start();
    expect(client.send({ event: 'a', data: 1 })).toEqual({ ok: true });
    expect(client.send(undefined)).toEqual({ ok: true });
    expect(client.sendEvent('b', ['one', 'two'], { id: '7' })).toEqual({ ok: true });
    expect(client.sendEventOrThrow(undefined, 'three')).toBe(client);
    expect(client.comment('note')).toEqual({ ok: true });
    await nextTurn();
    expect(res.body).toBe(
      'event: a\ndata: 1\n\n' +
        'event: b\nid: 7\ndata: one\ndata: two\n\n' +
        'data: three\n\n' +
        ': note\n\n',
    );
    expect(tally.events).toBe(3);
  });
});

describe('SseClient before its stream starts', () => {
  it('queues what is sent, and writes it after the retry and the head once started', async () => {
    const { client, stream, res } = openClient({ retry: 3000 });
    client.send('queued');
    await nextTurn();
    expect(res.statusCode).toBeUndefined();
    expect(res.writes).toHaveLength(0);
    expect(client.pendingBytes).toBe('data: queued\n\n'.length);
    stream.start('event: hello\ndata: first\n\n');
    await nextTurn();
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({ 'content-type': 'text/event-stream' });
    expect(res.body).toBe('retry: 3000\n\n' + 'event: hello\ndata: first\n\n' + 'data: queued\n\n');
    expect(client.pendingBytes).toBe(0);
  });

  it('ends as a slow consumer once what it queues passes maxPendingBytes, whatever its policy', () => {
    const { client } = openClient({ maxPendingBytes: 100, slowConsumer: 'drop' });
    const reasons: string[] = [];
    client.onClose((reason) => reasons.push(reason));
    expect(client.send('x'.repeat(50)).ok).toBe(true);
    expect(client.closed).toBe(false);
    client.send('x'.repeat(50));
    expect(reasons).toEqual(['slow-consumer']);
    expect(client.reason).toBe('slow-consumer');
  });

  it('still gets its 200 and what was queued when it ends, unless the caller owes an HTTP error', async () => {
    const completed = openClient();
    completed.client.send('last words');
    completed.stream.end('completed');
    await nextTurn();
    expect(completed.res.statusCode).toBe(200);
    expect(completed.res.body).toBe('data: last words\n\n');
    expect(completed.res.writableEnded).toBe(true);

    const failed = openClient();
    failed.client.send('never');
    failed.stream.end('error');
    expect(failed.res.statusCode).toBeUndefined();
    expect(failed.res.writes).toHaveLength(0);
  });

  it('ends once, tells the channel listener before the close listeners, and survives one that throws', () => {
    const reports: string[] = [];
    const { client, stream } = openClient({ reportError: (message) => reports.push(message) });
    const told: string[] = [];
    stream.setChannelListener({
      channelJoined: () => told.push('joined'),
      channelLeft: () => told.push('left'),
      clientClosed: (closed) => told.push(`closed ${closed === client}`),
    });
    client.join('a');
    client.leave('a');
    client.onClose(() => {
      throw new Error('boom');
    });
    client.onClose((reason) => told.push(`onClose ${reason}`));
    client.close();
    client.close();
    stream.end('error');
    expect(told).toEqual(['joined', 'left', 'closed true', 'onClose server-closed']);
    expect(reports).toEqual([`SSE client ${client.id}: a close listener threw`]);
    client.onClose((reason) => told.push(`late ${reason}`));
    expect(told.at(-1)).toBe('late server-closed');
  });
});

describe('SseClient: a response that fails', () => {
  it('ends with "client-disconnected" when its response closes', () => {
    const res = new FakeResponse();
    const { client, stream } = openClient({}, res);
    stream.start();
    res.destroy();
    return new Promise<void>((resolve) =>
      client.onClose((reason) => {
        expect(reason).toBe('client-disconnected');
        resolve();
      }),
    );
  });
});
