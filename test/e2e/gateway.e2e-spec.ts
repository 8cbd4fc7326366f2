import { Controller, Param } from '@nestjs/common';
import { delay, of, Subject } from 'rxjs';
import { SseClient, type SseCloseReason, type SseGateway, SseHub, SseRoute } from 'nestjs-sse-hub';
import { openSseStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

interface ChatMessage {
  to?: string;
  text: string;
  shout?: boolean;
  explode?: boolean;
  slow?: number;
}

/** Waiters for onClose, by client id. */
const closed = new Map<string, (reason: SseCloseReason) => void>();
const closeLog: Array<[string, SseCloseReason]> = [];
/** Whether the hub still listed the client while its onClose ran. */
const listedAtClose: boolean[] = [];
const handlerValues = new Subject<string>();

@Controller('gw')
// Untyped: its hub carries bare ChatMessage objects, which onMessage receives as they are.
class GatewayController implements SseGateway {
  constructor(private readonly hub: SseHub) {}

  @SseRoute(':mode', { channels: ['chat'] })
  events(@Param('mode') mode: string) {
    if (mode === 'completes') return of('last').pipe(delay(5));
    if (mode === 'handler') return handlerValues;
    return undefined;
  }

  async onJoin(client: SseClient) {
    const mode = client.request.params.mode;
    if (mode === 'announce')
      await this.hub.broadcast({ event: 'presence', data: this.hub.count('chat') }, { channels: 'chat' });
    if (mode === 'observable') return of({ event: 'welcome', data: 1 }, { event: 'welcome', data: 2 });
    await new Promise((resolve) => setImmediate(resolve));
    return { event: 'welcome', data: { id: client.id } };
  }

  onMessage(message: ChatMessage, client: SseClient) {
    if (message.explode) throw new Error('onMessage exploded');
    if (message.to && message.to !== client.id) return undefined;
    if (message.slow) return new Promise((resolve) => setTimeout(() => resolve(message), message.slow));
    if (message.shout) return { event: 'shout', data: message.text.toUpperCase() };
    return message;
  }

  onClose(client: SseClient, reason: SseCloseReason) {
    closeLog.push([client.id, reason]);
    listedAtClose.push(
      this.hub.clients().includes(client) ||
        this.hub.count('chat') > this.hub.clients('chat').filter((c) => c !== client).length,
    );
    closed.get(client.id)?.(reason);
    if (client.request.params.mode === 'close-throws') throw new Error('onClose exploded');
  }
}

/** Opens a stream on `/gw/<mode>` and reads its welcome; `onClose` resolves with the reason it closed. */
async function connect(url: string, mode: string) {
  const stream = await openSseStream(url, `/gw/${mode}`);
  const id: string = JSON.parse((await stream.nextEvent()).data).id;
  const onClose = new Promise<SseCloseReason>((resolve) => {
    // It may have closed already (a short handler stream).
    const logged = closeLog.find(([closedId]) => closedId === id);
    if (logged) resolve(logged[1]);
    else closed.set(id, resolve);
  });
  return { stream, id, onClose };
}

describe('SseGateway hooks', () => {
  let t: TestApp;
  let hub: SseHub;
  beforeAll(async () => {
    t = await startApp({ controllers: [GatewayController] });
    hub = t.app.get(SseHub);
  });
  afterAll(() => t.app.close());
  beforeEach(() => (closeLog.length = 0));
  // Every ending here (client gone, server close, completion, error): Nest never replies on top.
  afterEach(() => expect(t.logger.headersSentErrors()).toEqual([]));

  it('onJoin runs before the handler’s first value and what it returns is sent first', async () => {
    const stream = await openSseStream(t.url, '/gw/handler');
    const welcome = await stream.nextEvent();
    expect(welcome.event).toBe('welcome');
    handlerValues.next('from handler');
    expect(await stream.nextEvent()).toMatchObject({ data: 'from handler' });
    stream.close();
  });

  it('onJoin sees the joining client in the hub, and its own value still comes first', async () => {
    const stream = await openSseStream(t.url, '/gw/announce');
    expect(await stream.take(2)).toEqual([
      expect.objectContaining({ event: 'welcome' }),
      expect.objectContaining({ event: 'presence', data: '1' }),
    ]);
    stream.close();
  });

  it('onJoin may return an Observable', async () => {
    const stream = await openSseStream(t.url, '/gw/observable');
    expect((await stream.take(2)).map((e) => e.data)).toEqual(['1', '2']);
    stream.close();
  });

  it('onMessage filters, transforms or passes hub messages per client', async () => {
    const a = await openSseStream(t.url, '/gw/plain');
    const b = await openSseStream(t.url, '/gw/plain');
    const idOfA = JSON.parse((await a.nextEvent()).data).id;
    await b.nextEvent();
    await hub.broadcast({ to: idOfA, text: 'only for a' }, { channels: 'chat' });
    await hub.broadcast({ text: 'hi', shout: true }, { channels: 'chat' });
    await hub.broadcast({ text: 'as is' }, { channels: 'chat' });
    expect(await a.take(3)).toEqual([
      expect.objectContaining({ data: JSON.stringify({ to: idOfA, text: 'only for a' }) }),
      expect.objectContaining({ event: 'shout', data: 'HI' }),
      expect.objectContaining({ data: '{"text":"as is"}' }),
    ]);
    expect(await b.take(2)).toEqual([
      expect.objectContaining({ event: 'shout', data: 'HI' }),
      expect.objectContaining({ data: '{"text":"as is"}' }),
    ]);
    a.close();
    b.close();
  });

  it('an async onMessage keeps the order of messages', async () => {
    const stream = await openSseStream(t.url, '/gw/plain');
    await stream.nextEvent();
    await hub.broadcast({ text: 'slow', slow: 30 });
    await hub.broadcast({ text: 'fast' });
    expect((await stream.take(2)).map((e) => JSON.parse(e.data).text)).toEqual(['slow', 'fast']);
    stream.close();
  });

  it('an onMessage that throws is logged and the stream lives on', async () => {
    const stream = await openSseStream(t.url, '/gw/plain');
    await stream.nextEvent();
    await hub.broadcast({ text: 'x', explode: true });
    await hub.broadcast({ text: 'after' });
    expect(await stream.nextEvent()).toMatchObject({ data: '{"text":"after"}' });
    expect(t.logger.errors().join('\n')).toContain('onMessage exploded');
    stream.close();
  });

  it.each([
    ['client-disconnected', (stream: { close(): void }) => stream.close()],
    [
      'server-closed',
      (_stream: unknown, id: string) =>
        hub
          .clients()
          .find((c) => c.id === id)!
          .close(),
    ],
    ['server-closed', (_stream: unknown, id: string) => hub.close(id)],
  ] as const)('onClose runs exactly once with %s', async (reason, end) => {
    const { stream, id, onClose } = await connect(t.url, 'plain');
    await end(stream, id);
    expect(await onClose).toBe(reason);
    // Both ends are closed by now: a second onClose would have come on the way.
    await stream.closed();
    expect(closeLog.filter(([closedId]) => closedId === id)).toEqual([[id, reason]]);
    expect(hub.clients().map((client) => client.id)).not.toContain(id);
    // onClose runs with the hub already rid of the client, so counts are right there.
    expect(listedAtClose.at(-1)).toBe(false);
  });

  it('onClose sees "completed" when the handler’s stream completes', async () => {
    const { stream, onClose } = await connect(t.url, 'completes');
    await stream.closed();
    expect(await onClose).toBe('completed');
  });

  it('onClose sees "error" when the handler’s stream fails', async () => {
    const { stream, onClose } = await connect(t.url, 'handler');
    handlerValues.error(new Error('boom'));
    expect(await onClose).toBe('error');
    await stream.closed();
  });

  it('an onClose that throws is logged', async () => {
    const { stream, onClose } = await connect(t.url, 'close-throws');
    stream.close();
    await onClose;
    expect(t.logger.errors().join('\n')).toContain('onClose exploded');
  });
});
