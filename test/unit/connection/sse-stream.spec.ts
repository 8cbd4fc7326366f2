import { once } from 'node:events';
import { StreamTally } from '../../../src/connection';
import { encodeEvent } from '../../../src/wire';
import { FakeResponse, nextTurn, openClient } from './fake-response';

/** The n-th event as the hub writes it: encoded once, with its id. */
function hubEvent(n: number, size = 100): { chunk: Buffer; id: string } {
  const id = `${n}-0`;
  return { chunk: Buffer.from(encodeEvent({ id, data: `${n} `.padEnd(size, 'x') })), id };
}

/** The data of each event in a body, in order (`resync:` before a resync's data). */
function eventsIn(body: string): string[] {
  return body
    .split('\n\n')
    .filter((block) => block.startsWith('event:') || block.includes('data:'))
    .map((block) => {
      const data = block
        .split('\n')
        .find((line) => line.startsWith('data: '))!
        .slice(6);
      return block.startsWith('event: resync') ? `resync:${data}` : data.split(' ')[0];
    });
}

describe('SseStream: one write per turn', () => {
  it('sends what one turn wrote as one write, and a lone write within the same tick', async () => {
    const { client, stream, res } = openClient();
    stream.start();
    await nextTurn();
    res.writes.length = 0;
    client.send('a');
    client.send('b');
    stream.write('data: c\n\n');
    expect(res.writes).toHaveLength(0);
    await Promise.resolve();
    expect(res.writes.map(String)).toEqual(['data: a\n\ndata: b\n\ndata: c\n\n']);
    client.send('alone');
    // A microtask, not a later turn: flushed before this await returns.
    await Promise.resolve();
    expect(res.writes.map(String)).toEqual(['data: a\n\ndata: b\n\ndata: c\n\n', 'data: alone\n\n']);
  });

  it('joins the same chunks once for every client that got them in the same turn', async () => {
    const clients = [openClient(), openClient(), openClient()];
    for (const { stream } of clients) stream.start();
    await nextTurn();
    for (const { res } of clients) res.writes.length = 0;
    const burst = [hubEvent(1), hubEvent(2), hubEvent(3)];
    for (const { chunk, id } of burst) for (const { stream } of clients) stream.writeEvent(chunk, id);
    await Promise.resolve();
    const [first, ...others] = clients.map(({ res }) => res.writes);
    expect(first).toHaveLength(1);
    expect(first[0]).toEqual(Buffer.concat(burst.map(({ chunk }) => chunk)));
    for (const writes of others) {
      expect(writes).toHaveLength(1);
      expect(writes[0]).toBe(first[0]);
    }
  });

  it('writes a lone hub event as the very Buffer it was given', async () => {
    const { stream, res } = openClient();
    stream.start();
    await nextTurn();
    res.writes.length = 0;
    const { chunk, id } = hubEvent(1);
    expect(stream.writeEvent(chunk, id)).toBe(true);
    await Promise.resolve();
    expect(res.writes).toHaveLength(1);
    expect(res.writes[0]).toBe(chunk);
  });
});

describe('SseStream: backpressure and the "close" policy', () => {
  it('cuts off a client whose socket stopped taking bytes once it holds more than maxPendingBytes', async () => {
    const tally = new StreamTally('route');
    const res = new FakeResponse(1024);
    const { client, stream } = openClient({ maxPendingBytes: 4096, tally }, res);
    const reasons: string[] = [];
    client.onClose((reason) => reasons.push(reason));
    stream.start();
    await nextTurn();
    res.stall();
    let peak = 0;
    let written = 0;
    for (let n = 0; n < 200 && !client.closed; n++) {
      if (stream.writeEvent(hubEvent(n).chunk, `${n}-0`) === true) written++;
      peak = Math.max(peak, client.pendingBytes);
      // Flushed to the response, whose buffer grows: the next turn's writes see it.
      if (n % 5 === 4) await nextTurn();
    }
    expect(reasons).toEqual(['slow-consumer']);
    expect(written).toBeLessThan(200);
    expect(peak).toBeLessThanOrEqual(4096 + hubEvent(0).chunk.length);
    // Cut off, not ended gracefully: a reader that does not read would hold the buffers.
    expect(res.destroyed).toBe(true);
    expect(tally.slow).toEqual({ close: 1, drop: 0 });
    expect(stream.writeEvent(hubEvent(999).chunk, '999-0')).toBe(false);
  });

  it('lets a client that keeps up have everything, however much more than maxPendingBytes that is', async () => {
    const { client, stream, res } = openClient({ maxPendingBytes: 1024 });
    stream.start();
    for (let n = 0; n < 100; n++) {
      stream.writeEvent(hubEvent(n).chunk, `${n}-0`);
      if (n % 5 === 4) await nextTurn();
    }
    await nextTurn();
    expect(client.closed).toBe(false);
    expect(eventsIn(res.body)).toEqual(Array.from({ length: 100 }, (_, n) => String(n)));
  });

  it('lets one chunk through to an idle socket, however large', async () => {
    const { client, stream, res } = openClient({ maxPendingBytes: 100 });
    stream.start();
    await nextTurn();
    expect(stream.write(hubEvent(1, 1000).chunk)).toBe(true);
    expect(stream.write(hubEvent(2).chunk)).toBe(false);
    expect(client.reason).toBe('slow-consumer');
    expect(res.writes).toHaveLength(0);
  });
});

describe('SseStream: the "drop" policy', () => {
  it('skips events while the socket is full, says how many with a resync once it drains, and goes on', async () => {
    const tally = new StreamTally('route');
    const res = new FakeResponse(1024);
    const { client, stream } = openClient({ maxPendingBytes: 4096, slowConsumer: 'drop', tally }, res);
    stream.start();
    await nextTurn();
    res.stall();
    const outcomes: Array<boolean | 'too-large'> = [];
    for (let n = 0; n < 100; n++) {
      outcomes.push(stream.writeEvent(hubEvent(n).chunk, `${n}-0`));
      if (n % 5 === 4) await nextTurn();
    }
    const delivered = outcomes.indexOf(false);
    expect(delivered).toBeGreaterThan(0);
    expect(outcomes.slice(delivered).every((outcome) => outcome === false)).toBe(true);
    expect(client.closed).toBe(false);
    expect(tally.slow).toEqual({ close: 0, drop: 1 });
    const drained = once(res, 'drain');
    res.resume();
    await drained;
    stream.writeEvent(hubEvent(100).chunk, '100-0');
    await nextTurn();
    const resync = `resync:${JSON.stringify({ lastEventId: `${delivered - 1}-0`, dropped: 100 - delivered })}`;
    expect(eventsIn(res.body)).toEqual([
      ...Array.from({ length: delivered }, (_, n) => String(n)),
      resync,
      '100',
    ]);
    expect(client.closed).toBe(false);
  });

  it('sends no keepalive to a client that is dropping events or has bytes pending', async () => {
    const res = new FakeResponse(1024);
    const { stream } = openClient({ maxPendingBytes: 4096, slowConsumer: 'drop' }, res);
    stream.start();
    await nextTurn();
    res.stall();
    for (let n = 0; n < 50; n++) stream.writeEvent(hubEvent(n).chunk, `${n}-0`);
    await nextTurn();
    res.writes.length = 0;
    stream.onSilence();
    await nextTurn();
    expect(res.writes).toHaveLength(0);
  });
});

describe('SseStream: what the hub holds for it', () => {
  it('counts reserved bytes against maxPendingBytes, and lets them go', () => {
    const { client, stream } = openClient({ maxPendingBytes: 1000 });
    expect(stream.reserve(600)).toBe(true);
    expect(client.pendingBytes).toBe(600);
    stream.unreserve(600);
    expect(client.pendingBytes).toBe(0);
    expect(stream.reserve(600)).toBe(true);
    expect(client.send('x'.repeat(300)).ok).toBe(true);
    expect(stream.reserve(200)).toBe(false);
    expect(client.reason).toBe('slow-consumer');
  });

  it('refuses a hub event over its maxEventBytes and tells the client with a resync instead', async () => {
    const { stream, res } = openClient({ maxEventBytes: 200, lastEventId: '5-0' });
    stream.start();
    expect(stream.writeEvent(hubEvent(6, 500).chunk, '6-0')).toBe('too-large');
    expect(stream.writeEvent(hubEvent(7).chunk, '7-0')).toBe(true);
    await nextTurn();
    expect(eventsIn(res.body)).toEqual([`resync:${JSON.stringify({ lastEventId: '5-0', dropped: 1 })}`, '7']);
  });
});

describe('SseStream: keepalives', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick', 'setImmediate'] }));
  afterEach(() => jest.useRealTimers());

  it('comments after an interval of silence, never while writes keep coming, and stops with the stream', async () => {
    const { client, stream, res } = openClient({ keepAlive: 1000 });
    stream.start();
    await nextTurn();
    const keepalives = () => res.body.split(': keepalive\n\n').length - 1;
    for (let n = 0; n < 10; n++) {
      client.send(n);
      await nextTurn();
      jest.advanceTimersByTime(500);
    }
    expect(keepalives()).toBe(0);
    jest.advanceTimersByTime(1250);
    await nextTurn();
    expect(keepalives()).toBe(1);
    client.close();
    jest.advanceTimersByTime(10_000);
    expect(keepalives()).toBe(1);
  });

  it('sends none while the socket holds unsent bytes', async () => {
    const res = new FakeResponse(1024);
    const { client, stream } = openClient({ keepAlive: 1000 }, res);
    stream.start();
    await nextTurn();
    res.stall();
    client.send('x'.repeat(100));
    await nextTurn();
    const before = res.writes.length;
    jest.advanceTimersByTime(5000);
    await nextTurn();
    expect(res.writes.length).toBe(before);
    res.resume();
    jest.advanceTimersByTime(1250);
    await nextTurn();
    expect(res.writes.slice(before).map(String)).toEqual([': keepalive\n\n']);
  });
});
