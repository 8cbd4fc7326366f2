import { Controller, Param, RequestMethod } from '@nestjs/common';
import { Subject } from 'rxjs';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants,
  type IncomingHttpHeaders,
} from 'node:http2';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import {
  ConnectedClient,
  SseClient,
  type SseCloseReason,
  type SseGateway,
  SseHub,
  SseRoute,
} from 'nestjs-sse-hub';
import { startApp, type TestApp } from './support/start-app';

// HTTP/2 is Fastify's (Express has none): this file runs in the Fastify project only.
const runFeed = new Subject<string>();
const closes: Array<[string, SseCloseReason]> = [];

@Controller('h2')
class Http2Controller implements SseGateway {
  @SseRoute('bounded', { channels: ['bounded'], maxPendingBytes: 64 * 1024, keepAlive: false })
  bounded() {}

  onClose(client: SseClient, reason: SseCloseReason) {
    closes.push([client.id, reason]);
  }

  @SseRoute('runs/:id', {
    method: RequestMethod.POST,
    keepAlive: false,
    resumable: { key: (req) => `h2:${req.params.id}` },
  })
  startRun() {
    return runFeed;
  }

  @SseRoute('runs/:id', {
    keepAlive: false,
    resumable: { key: (req) => `h2:${req.params.id}`, create: false },
  })
  resumeRun() {}

  // An async user lookup that the test releases (x-gate), else the x-user header.
  @SseRoute('me', {
    keepAlive: false,
    user: (req) => {
      const gate = req.headers['x-gate'];
      if (!gate) return req.headers['x-user'];
      return new Promise<string>((resolve) => lookups.set(gate, resolve));
    },
  })
  me(@ConnectedClient() client: SseClient) {
    served.push(client.user!);
    return { event: 'me', data: client.user };
  }

  @SseRoute('rooms/:room', { channels: (req) => [req.params.room], retry: 1500 })
  room(@Param('room') room: string, @ConnectedClient() client: SseClient) {
    return { event: 'welcome', data: { room, client: client.id } };
  }
}

/** Pending user lookups by gate, and the users whose handler ran. */
const lookups = new Map<string, (user: string) => void>();
const served: string[] = [];

/** One event stream on an HTTP/2 session, parsed with eventsource-parser. */
function openStream(
  session: ClientHttp2Session,
  path: string,
  headers: Record<string, string> = {},
): Promise<{
  headers: IncomingHttpHeaders;
  events: EventSourceMessage[];
  next: () => Promise<EventSourceMessage>;
  stream: ClientHttp2Stream;
}> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, accept: 'text/event-stream', ...headers });
    const events: EventSourceMessage[] = [];
    let waiting: ((event: EventSourceMessage) => void) | undefined;
    const parser = createParser({
      onEvent: (event) => {
        if (waiting) {
          const resolveNext = waiting;
          waiting = undefined;
          resolveNext(event);
        } else events.push(event);
      },
    });
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => parser.feed(text));
    stream.once('error', reject);
    stream.once('response', (headers) =>
      resolve({
        headers,
        events,
        stream,
        next: () =>
          events.length
            ? Promise.resolve(events.shift()!)
            : new Promise((resolveNext) => (waiting = resolveNext)),
      }),
    );
  });
}

describe('HTTP/2 (Fastify, h2c on loopback)', () => {
  let t: TestApp;
  let session: ClientHttp2Session;
  beforeAll(async () => {
    t = await startApp(
      { controllers: [Http2Controller] },
      {},
      { adapter: new FastifyAdapter({ http2: true }) },
    );
    session = connect(t.url);
    // A browser's connection window (Chrome's is 15 MiB), not Node's 64 KiB: with the latter
    // one paused stream's unread bytes would stall every stream of the session, client-side.
    await new Promise((resolve) => session.once('connect', resolve));
    session.setLocalWindowSize(16 * 1024 * 1024);
  });
  afterAll(async () => {
    session.destroy();
    await t.app.close();
  });
  afterEach(() => expect(t.logger.errors()).toEqual([]));

  it('streams with the event-stream headers and no Connection header', async () => {
    const { headers, next, stream } = await openStream(session, '/h2/rooms/a');
    expect(headers[':status']).toBe(200);
    expect(headers['content-type']).toBe('text/event-stream');
    expect(headers['cache-control']).toBe('no-cache, no-transform');
    expect(headers.connection).toBeUndefined();
    expect(await next()).toMatchObject({ event: 'welcome', data: expect.stringContaining('"room":"a"') });
    stream.close(constants.NGHTTP2_CANCEL);
  });

  it('carries many streams on one connection, each with its own channels, and closing one leaves the others open', async () => {
    const hub = t.app.get(SseHub);
    const rooms = ['a', 'b', 'a', 'c', 'b'];
    const streams = await Promise.all(rooms.map((room) => openStream(session, `/h2/rooms/${room}`)));
    for (const s of streams) expect((await s.next()).event).toBe('welcome');
    expect(hub.count()).toBe(rooms.length);
    // Everything on one TCP connection.
    const sockets = new Set(streams.map((s) => s.stream.session?.socket));
    expect(sockets.size).toBe(1);

    await hub.broadcast({ event: 'news', data: 'for a' }, { channels: 'a' });
    await hub.broadcast({ event: 'news', data: 'for all' });
    for (const [i, s] of streams.entries()) {
      const expected = rooms[i] === 'a' ? ['for a', 'for all'] : ['for all'];
      for (const data of expected) expect(await s.next()).toMatchObject({ event: 'news', data });
    }

    // A stream reset by the client leaves the hub; its neighbours on the connection stay.
    streams[0].stream.close(constants.NGHTTP2_CANCEL);
    while (hub.count() > rooms.length - 1) await new Promise((resolve) => setImmediate(resolve));
    await hub.broadcast({ event: 'news', data: 'after one left' }, { channels: 'a' });
    expect(await streams[2].next()).toMatchObject({ data: 'after one left' });
    for (const s of streams.slice(1)) s.stream.close(constants.NGHTTP2_CANCEL);
  });

  it("sends to users' streams on one session, and a stream reset during its async user lookup starts nothing", async () => {
    const hub = t.app.get(SseHub);
    const [ann, bob] = await Promise.all([
      openStream(session, '/h2/me', { 'x-user': 'ann' }),
      openStream(session, '/h2/me', { 'x-user': 'bob' }),
    ]);
    expect(await ann.next()).toMatchObject({ event: 'me', data: 'ann' });
    expect(await bob.next()).toMatchObject({ event: 'me', data: 'bob' });
    await hub.broadcast({ event: 'note', data: 'for ann' }, { users: 'ann' });
    await hub.broadcast({ event: 'note', data: 'for all' });
    expect(await ann.next()).toMatchObject({ data: 'for ann' });
    expect(await ann.next()).toMatchObject({ data: 'for all' });
    expect(await bob.next()).toMatchObject({ data: 'for all' });

    // Reset while the server looks its user up: the lookup ends after the stream has closed.
    const gone = session.request({ ':path': '/h2/me', accept: 'text/event-stream', 'x-gate': 'g' });
    gone.on('error', () => undefined);
    while (!lookups.has('g')) await new Promise((resolve) => setImmediate(resolve));
    gone.close(constants.NGHTTP2_CANCEL);
    await new Promise((resolve) => gone.once('close', resolve));
    const before = served.length;
    // Ann again, after the reset reached the server (the session handles its frames in order).
    const again = await openStream(session, '/h2/me', { 'x-user': 'ann' });
    await again.next();
    lookups.get('g')!('carl');
    await hub.broadcast({ event: 'note', data: 'end' });
    expect(await again.next()).toMatchObject({ data: 'end' });
    expect(served.slice(before)).toEqual(['ann']);
    expect(hub.clients().some((client) => client.user === 'carl')).toBe(false);
    for (const s of [ann, bob, again]) s.stream.close(constants.NGHTTP2_CANCEL);
  });

  it('closes a stream that stops reading as a slow consumer, while its neighbour on the same connection gets everything', async () => {
    const hub = t.app.get(SseHub);
    const [slow, fast] = await Promise.all([
      openStream(session, '/h2/bounded'),
      openStream(session, '/h2/bounded'),
    ]);
    while (hub.count('bounded') < 2) await new Promise((resolve) => setImmediate(resolve));
    const [slowId, fastId] = [...hub.clients('bounded')].map((client) => client.id);
    // The client stops reading one stream: HTTP/2 flow control then holds its bytes on the server.
    slow.stream.pause();
    const payload = 'x'.repeat(1000);
    let sent = 0;
    while (!closes.some(([, reason]) => reason === 'slow-consumer') && sent < 5000) {
      await hub.broadcast({ event: 'fill', data: { n: sent++, payload } }, { channels: 'bounded' });
      if (sent % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(closes.filter(([, reason]) => reason === 'slow-consumer').map(([id]) => id)).toHaveLength(1);
    // Reset by the server (a paused Node stream only says 'close' once its buffer is read).
    const slowEnded = new Promise((resolve) => slow.stream.once('close', resolve));
    slow.stream.resume();
    await slowEnded;
    // The one that kept reading got every event, in order.
    const received: number[] = [];
    while (received.length < sent) received.push(JSON.parse((await fast.next()).data).n);
    expect(received).toEqual(Array.from({ length: sent }, (_, n) => n));
    expect(hub.count('bounded')).toBe(1);
    expect([slowId, fastId]).toContain(closes.find(([, reason]) => reason === 'slow-consumer')![0]);
    fast.stream.close(constants.NGHTTP2_CANCEL);
  });

  it('a resumable run on one session: its starter reset, readers on the same connection get it once, then the end; 204 after', async () => {
    const ended = (stream: ClientHttp2Stream) =>
      new Promise<void>((resolve) => (stream.closed ? resolve() : stream.once('close', () => resolve())));
    const starter = await openStream(session, '/h2/runs/1', { ':method': 'POST' });
    runFeed.next('a');
    const first = await starter.next();
    expect(first.data).toBe('a');
    // The client that started it goes; the run does not.
    starter.stream.close(constants.NGHTTP2_CANCEL);
    runFeed.next('b');
    const readers = await Promise.all([
      openStream(session, '/h2/runs/1'),
      openStream(session, '/h2/runs/1', { 'last-event-id': first.id! }),
      openStream(session, '/h2/runs/1', { ':method': 'POST' }),
    ]);
    runFeed.next('c');
    runFeed.complete();
    const got = await Promise.all(
      readers.map(async (reader) => {
        await ended(reader.stream);
        return reader.events.map((event) => event.data);
      }),
    );
    expect(got).toEqual([
      ['a', 'b', 'c'],
      ['b', 'c'],
      ['a', 'b', 'c'],
    ]);
    const done = await openStream(session, '/h2/runs/1', { 'last-event-id': `${first.id!.split('-')[0]}-3` });
    expect(done.headers[':status']).toBe(204);
    const none = await openStream(session, '/h2/runs/nothing');
    expect(none.headers[':status']).toBe(204);
  });

  it('ends every stream on shutdown with the jittered retry, over HTTP/2 too', async () => {
    const app = await startApp(
      { controllers: [Http2Controller] },
      {},
      { adapter: new FastifyAdapter({ http2: true }) },
    );
    const own = connect(app.url);
    try {
      const { next, stream } = await openStream(own, '/h2/rooms/z');
      expect((await next()).event).toBe('welcome');
      const ended = new Promise((resolve) => stream.once('end', resolve));
      const chunks: string[] = [];
      stream.on('data', (text: string) => chunks.push(text));
      // The server waits for the session to go (Fastify's own business): the stream must not.
      const closing = app.app.close();
      await ended;
      expect(chunks.join('')).toMatch(/^retry: \d+\n\n$/);
      own.close();
      await closing;
      expect(app.logger.errors()).toEqual([]);
    } finally {
      own.destroy();
    }
  });
});
