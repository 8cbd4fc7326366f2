import { Controller } from '@nestjs/common';
import { finalize, interval } from 'rxjs';
import { ConnectedClient, SseClient, SseClosedError, SseEncodeError, SseHub, SseRoute } from 'nestjs-sse-hub';
import { openSseStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

const clients: SseClient[] = [];
const finalized: string[] = [];

@Controller('client')
class ClientController {
  @SseRoute('ticking')
  ticking(@ConnectedClient() client: SseClient) {
    clients.push(client);
    return interval(60_000).pipe(finalize(() => finalized.push(client.id)));
  }

  @SseRoute(':name')
  events(@ConnectedClient() client: SseClient) {
    clients.push(client);
    return undefined;
  }
}

describe('SseClient, the generator API', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startApp({ controllers: [ClientController] })));
  afterAll(() => t.app.close());
  beforeEach(() => (clients.length = 0));

  async function openOne(path = '/client/one', headers?: Record<string, string>) {
    const stream = await openSseStream(t.url, path, { headers });
    return { stream, client: clients[clients.length - 1] };
  }

  it('has a random, unguessable id and the framework request', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const { stream, client } = await openOne('/client/named');
      ids.add(client.id);
      expect(client.request.params).toEqual({ name: 'named' });
      stream.close();
    }
    expect(ids.size).toBe(20);
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('reads lastEventId from the Last-Event-ID header, else from the query, the header winning', async () => {
    const header = await openOne('/client/a', { 'last-event-id': '41' });
    expect(header.client.lastEventId).toBe('41');
    const query = await openOne('/client/a?lastEventId=17');
    expect(query.client.lastEventId).toBe('17');
    const both = await openOne('/client/a?lastEventId=17', { 'last-event-id': '41' });
    expect(both.client.lastEventId).toBe('41');
    const none = await openOne('/client/a');
    expect(none.client.lastEventId).toBeUndefined();
    for (const { stream } of [header, query, both, none]) stream.close();
  });

  it('sendEvent writes an event from data lines and returns ok', async () => {
    const { stream, client } = await openOne();
    expect(
      client.sendEvent('datastar-patch-elements', ['selector #a', 'elements <b>\n</b>'], {
        id: '9',
        retry: 3000,
      }),
    ).toEqual({ ok: true });
    expect(client.sendEvent(undefined, 'plain')).toEqual({ ok: true });
    expect(await stream.next()).toEqual({ type: 'retry', retry: 3000 });
    expect(await stream.nextEvent()).toEqual({
      type: 'event',
      event: 'datastar-patch-elements',
      id: '9',
      data: 'selector #a\nelements <b>\n</b>',
    });
    expect(await stream.nextEvent()).toEqual({
      type: 'event',
      event: undefined,
      id: undefined,
      data: 'plain',
    });
    stream.close();
  });

  it('send and comment write values and comments', async () => {
    const { stream, client } = await openOne();
    expect(client.send({ n: 1 })).toEqual({ ok: true });
    expect(client.comment('still here')).toEqual({ ok: true });
    expect(await stream.next()).toMatchObject({ type: 'event', data: '{"n":1}' });
    expect(await stream.next()).toEqual({ type: 'comment', comment: 'still here' });
    stream.close();
  });

  it('sendEvent returns the encode error instead of throwing; sendEventOrThrow throws it', async () => {
    const { stream, client } = await openOne();
    const result = client.sendEvent('two\nlines', 'x');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toBeInstanceOf(SseEncodeError);
    expect(() => client.sendEventOrThrow('x', 'y', { retry: -1 })).toThrow(SseEncodeError);
    stream.close();
  });

  it('close() ends the stream; afterwards sends return SseClosedError and sendEventOrThrow throws it', async () => {
    const { stream, client } = await openOne();
    expect(client.closed).toBe(false);
    client.close();
    await stream.closed();
    expect(client.closed).toBe(true);
    const result = client.sendEvent('x', 'y');
    expect(!result.ok && result.error).toBeInstanceOf(SseClosedError);
    expect(client.send('x').ok).toBe(false);
    expect(client.comment('x').ok).toBe(false);
    expect(() => client.sendEventOrThrow('x', 'y')).toThrow(SseClosedError);
    expect(() => client.sendEventOrThrow('x', 'y')).toThrow(/check client.closed/i);
  });

  it('unsubscribes the handler’s Observable as soon as the client goes away', async () => {
    const { stream, client } = await openOne('/client/ticking');
    const gone = new Promise((resolve) => client.onClose(resolve));
    stream.close();
    await gone;
    expect(finalized).toContain(client.id);
  });

  it('notices a client that goes away at once, not at the next write', async () => {
    const { stream, client } = await openOne();
    const gone = new Promise((resolve) => client.onClose(resolve));
    stream.close();
    expect(await gone).toBe('client-disconnected');
    expect(client.closed).toBe(true);
    expect(t.app.get(SseHub).count()).toBe(0);
  });
});
