import { connect } from 'node:net';
import { Controller, Header, type MessageEvent, RequestMethod, Body } from '@nestjs/common';
import { interval, map, Observable, of, take } from 'rxjs';
import { SseHub, SseRoute } from 'nestjs-sse-hub';
import { openSseStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

@Controller('routes')
class RoutesController {
  constructor(private readonly hub: SseHub) {}

  @SseRoute('observable')
  observable() {
    return interval(5).pipe(
      take(3),
      map((i) => ({ event: 'tick', data: { i } })),
    );
  }

  @SseRoute('sync-observable')
  syncObservable() {
    return of('a', 'b');
  }

  @SseRoute('async-iterable')
  async *asyncIterable() {
    yield 'one';
    await new Promise((resolve) => setImmediate(resolve));
    yield { event: 'two', data: [2] };
  }

  @SseRoute('promise')
  async promise() {
    await new Promise((resolve) => setImmediate(resolve));
    return { event: 'ready', data: 'yes' };
  }

  @SseRoute('promise-of-observable')
  async promiseOfObservable() {
    return of(1, 2);
  }

  @SseRoute('value')
  value() {
    return 'just one';
  }

  @SseRoute('nothing')
  nothing() {
    return undefined;
  }

  @SseRoute('message-event')
  messageEvent(): Observable<MessageEvent> {
    // A handler written for the built-in @Sse(): `type` names the event.
    return of({ type: 'update', id: '1', data: { ok: true } }, { data: 'plain' });
  }

  @SseRoute('retry', { retry: 2500 })
  retry() {
    return of('x');
  }

  @SseRoute('keepalive', { keepAlive: 40 })
  keepalive() {
    return undefined;
  }

  @SseRoute('no-keepalive', { keepAlive: false })
  noKeepalive() {
    return undefined;
  }

  @SseRoute('headers', { headers: { 'x-route': 'yes' } })
  @Header('x-from-header-decorator', 'kept')
  headers() {
    return of('h');
  }

  @SseRoute('post', { method: RequestMethod.POST })
  post(@Body() body: { name: string }) {
    return of({ event: 'hello', data: body.name });
  }

  @SseRoute({ keepAlive: false })
  bare() {
    return of('bare');
  }

  broadcast() {
    return this.hub.broadcast('from hub');
  }
}

describe('@SseRoute: what a handler returns becomes the stream', () => {
  let t: TestApp;
  beforeAll(
    async () => (t = await startApp({ controllers: [RoutesController] }, { headers: { 'x-module': 'yes' } })),
  );
  afterAll(() => t.app.close());
  afterEach(() => expect(t.logger.errors()).toEqual([]));

  it('sends the event-stream headers at once, before any event', async () => {
    const stream = await openSseStream(t.url, '/routes/nothing');
    expect(stream.status).toBe(200);
    expect(stream.headers).toMatchObject({
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
      'x-module': 'yes',
    });
    expect(stream.received).toEqual([]);
    stream.close();
  });

  it('on HTTP/1.1 sends the events as they are, not chunked, and ends the connection with the stream', async () => {
    // Read off the socket: an HTTP client would hide the framing.
    const { port } = new URL(t.url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.write(
      'GET /routes/sync-observable HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n',
    );
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // 'end' is the server's FIN: the body is delimited by the connection's close.
    await new Promise((resolve) => socket.once('end', resolve));
    socket.destroy();
    const [head, body] = Buffer.concat(chunks).toString().split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head.toLowerCase()).not.toContain('transfer-encoding');
    expect(head.toLowerCase()).not.toContain('content-length');
    expect(body).toBe('data: a\n\ndata: b\n\n');
  });

  it('streams an Observable and ends when it completes', async () => {
    const stream = await openSseStream(t.url, '/routes/observable');
    expect(await stream.take(3)).toEqual(
      [0, 1, 2].map((i) => ({ type: 'event', event: 'tick', id: undefined, data: `{"i":${i}}` })),
    );
    await stream.closed();
  });

  it('streams an Observable that emits and completes synchronously', async () => {
    const stream = await openSseStream(t.url, '/routes/sync-observable');
    await stream.closed();
    expect(stream.received.map((m) => m.type === 'event' && m.data)).toEqual(['a', 'b']);
  });

  it('streams an AsyncIterable and ends when it is done', async () => {
    const stream = await openSseStream(t.url, '/routes/async-iterable');
    await stream.closed();
    expect(stream.received).toEqual([
      { type: 'event', event: undefined, id: undefined, data: 'one' },
      { type: 'event', event: 'two', id: undefined, data: '[2]' },
    ]);
  });

  it('sends the value of a Promise and stays open for the hub', async () => {
    const stream = await openSseStream(t.url, '/routes/promise');
    expect(await stream.nextEvent()).toMatchObject({ event: 'ready', data: 'yes' });
    await t.app.get(RoutesController).broadcast();
    expect(await stream.nextEvent()).toMatchObject({ data: 'from hub' });
    expect(stream.ended).toBe(false);
    stream.close();
  });

  it('streams the Observable a Promise resolves to', async () => {
    const stream = await openSseStream(t.url, '/routes/promise-of-observable');
    await stream.closed();
    expect(stream.received.map((m) => m.type === 'event' && m.data)).toEqual(['1', '2']);
  });

  it('sends a single value and stays open; nothing stays open too', async () => {
    const single = await openSseStream(t.url, '/routes/value');
    expect(await single.nextEvent()).toMatchObject({ data: 'just one' });
    const empty = await openSseStream(t.url, '/routes/nothing');
    await t.app.get(RoutesController).broadcast();
    expect(await single.nextEvent()).toMatchObject({ data: 'from hub' });
    expect(await empty.nextEvent()).toMatchObject({ data: 'from hub' });
    single.close();
    empty.close();
  });

  it('works unchanged with handlers written for the built-in @Sse() (MessageEvent)', async () => {
    const stream = await openSseStream(t.url, '/routes/message-event');
    await stream.closed();
    expect(stream.received).toEqual([
      { type: 'event', event: 'update', id: '1', data: '{"ok":true}' },
      { type: 'event', event: undefined, id: undefined, data: 'plain' },
    ]);
  });

  it('sends retry once, first', async () => {
    const stream = await openSseStream(t.url, '/routes/retry');
    await stream.closed();
    expect(stream.received).toEqual([
      { type: 'retry', retry: 2500 },
      { type: 'event', event: undefined, id: undefined, data: 'x' },
    ]);
  });

  it('sends a keepalive comment after each keepAlive ms of silence, and none when disabled', async () => {
    const opened = Date.now();
    const stream = await openSseStream(t.url, '/routes/keepalive');
    const quiet = await openSseStream(t.url, '/routes/no-keepalive');
    expect(await stream.nextComment()).toBe('keepalive');
    const first = Date.now();
    expect(await stream.nextComment()).toBe('keepalive');
    // Never before the interval (timers only ever fire late; 2 ms for clock rounding).
    expect(first - opened).toBeGreaterThanOrEqual(38);
    expect(Date.now() - first).toBeGreaterThanOrEqual(38);
    expect(quiet.received).toEqual([]);
    stream.close();
    quiet.close();
  });

  it('keeps every stream of an interval on one timer, not one each', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    async function timersAdded(path: string) {
      const before = timers();
      const streams = await Promise.all(Array.from({ length: 200 }, () => openSseStream(t.url, path)));
      const added = timers() - before;
      for (const stream of streams) stream.close();
      await Promise.all(streams.map((stream) => stream.closed()));
      return added;
    }
    // Other tests' timers come and go meanwhile: a few either way, where a timer each would be 200.
    const withoutKeepAlive = await timersAdded('/routes/no-keepalive');
    expect((await timersAdded('/routes/keepalive')) - withoutKeepAlive).toBeLessThan(10);
  });

  it('keeps headers from the module, the route and @Header(), under the stream headers', async () => {
    const stream = await openSseStream(t.url, '/routes/headers');
    expect(stream.headers).toMatchObject({
      'x-module': 'yes',
      'x-route': 'yes',
      'x-from-header-decorator': 'kept',
      'content-type': 'text/event-stream',
    });
    await stream.closed();
  });

  it('serves POST routes with the body parsed as usual', async () => {
    const stream = await openSseStream(t.url, '/routes/post', { method: 'POST', body: { name: 'ann' } });
    expect(stream.status).toBe(200);
    expect(await stream.nextEvent()).toMatchObject({ event: 'hello', data: 'ann' });
    await stream.closed();
  });

  it('accepts options without a path', async () => {
    const stream = await openSseStream(t.url, '/routes');
    expect(await stream.nextEvent()).toMatchObject({ data: 'bare' });
    await stream.closed();
  });
});

describe('@SseRoute: headers the app sets before the stream', () => {
  let t: TestApp;
  beforeAll(
    async () =>
      (t = await startApp(
        { controllers: [RoutesController] },
        {},
        { configure: (app) => app.enableCors({ origin: 'https://app.example', credentials: true }) },
      )),
  );
  afterAll(() => t.app.close());

  it('keeps the CORS headers of app.enableCors() on the event stream', async () => {
    const stream = await openSseStream(t.url, '/routes/value', {
      headers: { origin: 'https://app.example' },
    });
    expect(stream.status).toBe(200);
    expect(stream.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-credentials': 'true',
      'content-type': 'text/event-stream',
    });
    expect((await stream.nextEvent()).data).toBe('just one');
    stream.close();
    expect(t.logger.errors()).toEqual([]);
  });
});
