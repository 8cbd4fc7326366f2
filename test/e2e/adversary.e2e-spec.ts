import { Controller, Get } from '@nestjs/common';
import { constants as h2 } from 'node:http2';
import { ConnectedClient, SseClient, type SseCloseReason, type SseGateway, SseRoute } from 'nestjs-sse-hub';
import { type SseTestStream } from 'nestjs-sse-hub/testing';
import { drop, rawRequest, readResponseHead, readUntil } from './support/raw-http';
import { eventually, http1Kinds, KindApp, type ServerKind, serverKinds } from './support/server-kinds';

/**
 * The same attacks on every kind of server an app can run on (TCP, TLS, a Unix socket,
 * HTTP/2) and with every request shape a client can send. After each, the invariants:
 * the hub, the connection limiter and the server's sockets are back to zero, every stream
 * that reached its handler had exactly one onClose, and no error escaped.
 */
const reached: string[] = [];
/** Holds the `wait` route's answer until the test lets it go. */
let waiting = { entered: Promise.resolve(), release: () => {} };
function newWait() {
  let enter!: () => void;
  let release!: () => void;
  const entered = new Promise<void>((resolve) => (enter = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  waiting = { entered, release };
  return { enter, released };
}
let waitGate = newWait();
const closes: Array<[string, SseCloseReason]> = [];
const MAX_CONNECTIONS = 20;

@Controller('adv')
class AdversaryController implements SseGateway {
  @SseRoute('feed', { channels: ['feed'], keepAlive: false })
  feed(@ConnectedClient() client: SseClient) {
    reached.push(client.id);
    return { event: 'hello', data: client.id };
  }

  // A small limit, so that a client that stops reading is cut off after a few events.
  @SseRoute('bounded', { channels: ['bounded'], maxPendingBytes: 64 * 1024, keepAlive: false })
  bounded(@ConnectedClient() client: SseClient) {
    reached.push(client.id);
    return { event: 'hello', data: client.id };
  }

  @SseRoute('strict', { strictAccept: true, keepAlive: false })
  strict(@ConnectedClient() client: SseClient) {
    reached.push(client.id);
    return { event: 'hello', data: client.id };
  }

  @Get('plain')
  plain() {
    return { plain: true };
  }

  @Get('wait')
  async wait() {
    waitGate.enter();
    await waitGate.released;
    return { waited: true };
  }

  onClose(client: SseClient, reason: SseCloseReason) {
    closes.push([client.id, reason]);
  }
}

const payload = (n: number) => ({ n, padding: 'p'.repeat(1000) });

describe.each(serverKinds())('adversaries on a %s server', (kind: ServerKind) => {
  let t: KindApp;
  const unexpected: unknown[] = [];
  const onUnexpected = (reason: unknown) => unexpected.push(reason);
  const opened: SseTestStream[] = [];

  async function open(path: string, headers: Record<string, string> = {}) {
    const stream = await t.open(path, headers);
    opened.push(stream);
    return stream;
  }

  beforeAll(async () => {
    process.on('unhandledRejection', onUnexpected);
    process.on('uncaughtException', onUnexpected);
    t = await KindApp.start(
      kind,
      { controllers: [AdversaryController] },
      { maxConnections: MAX_CONNECTIONS },
    );
  });
  afterAll(async () => {
    await t.close();
    process.off('unhandledRejection', onUnexpected);
    process.off('uncaughtException', onUnexpected);
  });
  beforeEach(() => {
    reached.length = 0;
    closes.length = 0;
  });

  afterEach(async () => {
    for (const stream of opened.splice(0)) stream.close();
    if (t.http2) (await t.session()).destroy();
    // The invariants, whatever the test did.
    await eventually(() => t.hub.count() === 0, `the hub lists no stream (it lists ${t.hub.count()})`);
    await eventually(
      () => t.limiter.openStreams === 0,
      `the limiter counts no stream (it counts ${t.limiter.openStreams})`,
    );
    await eventually(async () => (await t.connections()) === 0, 'the server holds no connection');
    const closedOnce = new Map<string, number>();
    for (const [id] of closes) closedOnce.set(id, (closedOnce.get(id) ?? 0) + 1);
    expect([...closedOnce.keys()].sort()).toEqual([...new Set(reached)].sort());
    expect([...closedOnce.values()].every((count) => count === 1)).toBe(true);
    expect(unexpected).toEqual([]);
    expect(t.logger.headersSentErrors()).toEqual([]);
  });

  it('streams broadcasts to many clients, every event once and in id order, and forgets them when they reset', async () => {
    const streams = await Promise.all(Array.from({ length: 5 }, () => open('/adv/feed')));
    for (const stream of streams) expect((await stream.nextEvent()).event).toBe('hello');
    for (let n = 0; n < 50; n++) await t.hub.broadcast({ event: 'n', data: String(n) }, { channels: 'feed' });
    for (const stream of streams) {
      const events = await stream.take(50);
      expect(events.map((event) => event.data)).toEqual(Array.from({ length: 50 }, (_, n) => String(n)));
      const ids = events.map((event) => event.id!);
      expect([...ids].sort(compareIds)).toEqual(ids);
    }
  });

  it('cuts off a client that stops reading (onClose "slow-consumer", once), and the others still get every event', async () => {
    const stalled = await open('/adv/bounded');
    const stalledId = (await stalled.nextEvent()).data;
    stalled.pause();
    const fast = await Promise.all([open('/adv/bounded'), open('/adv/bounded')]);
    for (const stream of fast) await stream.nextEvent();
    // Until the stalled one is cut off (kernel buffers take megabytes first on TCP), a few KiB a turn so that the readers keep up.
    let sent = 0;
    while (!closes.some(([id]) => id === stalledId) && sent < 40_000) {
      await t.hub.broadcast(payload(sent++), { channels: 'bounded' });
      if (sent % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    for (const stream of fast) {
      const got = (await stream.take(sent)).map((event) => JSON.parse(event.data).n);
      expect(got).toEqual(Array.from({ length: sent }, (_, n) => n));
    }
    await eventually(() => closes.some(([id]) => id === stalledId), 'the stalled client was cut off');
    expect(closes.filter(([id]) => id === stalledId)).toEqual([[stalledId, 'slow-consumer']]);
    expect(t.hub.count('bounded')).toBe(2);
    expect(t.logger.errors()).toEqual([]);
  });

  it('answers HEAD with the stream headers and nothing else, and never opens a stream for it', async () => {
    if (t.http2) {
      const session = await t.session();
      const stream = session.request(
        { ':path': '/adv/feed', ':method': 'HEAD', accept: 'text/event-stream' },
        { endStream: true },
      );
      const [headers, body] = await Promise.all([
        new Promise<Record<string, unknown>>((resolve) => stream.once('response', resolve)),
        new Promise<string>((resolve) => {
          let text = '';
          stream.on('data', (chunk: Buffer) => (text += chunk));
          stream.once('close', () => resolve(text));
        }),
      ]);
      expect(headers[':status']).toBe(200);
      expect(headers['content-type']).toBe('text/event-stream');
      expect(body).toBe('');
    } else {
      const socket = await t.connect();
      socket.write(rawRequest('HEAD', '/adv/feed'));
      const head = await readResponseHead(socket);
      expect(head.status).toBe(200);
      expect(head.headers['content-type']).toBe('text/event-stream');
      // The same connection serves the next request: had the HEAD written a body, this would read it instead.
      socket.write(rawRequest('GET', '/adv/plain', { accept: 'application/json' }));
      const next = await readResponseHead(socket, head.rest);
      expect(next.status).toBe(200);
      expect(await readUntil(socket, (text) => text.includes('}'), next.rest)).toBe('{"plain":true}');
      drop(socket);
    }
    expect(reached).toEqual([]);
  });

  it('answers a GET that carries a body, and a huge or malformed Last-Event-ID with a resync', async () => {
    for (const lastEventId of [
      'x'.repeat(8000),
      'not-an-id',
      '1-',
      '99999999999999999999-1',
      encodeURI('é€😀'),
      'a\u00ff',
    ]) {
      const stream = await open('/adv/feed', { 'last-event-id': lastEventId });
      expect(stream.status).toBe(200);
      expect((await stream.nextEvent()).event).toBe('resync');
      expect((await stream.nextEvent()).event).toBe('hello');
      stream.close();
    }
    if (!t.http2) {
      const socket = await t.connect();
      socket.write(
        rawRequest('GET', '/adv/feed', { 'content-type': 'application/json' }, '{"unexpected":true}'),
      );
      const head = await readResponseHead(socket);
      expect(head.status).toBe(200);
      expect(await readUntil(socket, (text) => text.includes('event: hello'), head.rest)).toContain(
        'event: hello',
      );
      drop(socket);
    }
  });

  it('negotiates Accept on a strict route: q=0 and a missing Accept are refused with 406', async () => {
    const statuses: Record<string, number> = {};
    for (const accept of [
      'text/event-stream',
      'text/*',
      '*/*',
      'application/json, text/event-stream;q=0.5',
      'text/event-stream;q=0',
      'text/event-stream;q=0, */*',
      'application/json',
    ]) {
      const stream = await open('/adv/strict', { accept });
      statuses[accept] = stream.status;
      stream.close();
    }
    expect(statuses).toEqual({
      'text/event-stream': 200,
      'text/*': 200,
      '*/*': 200,
      'application/json, text/event-stream;q=0.5': 200,
      'text/event-stream;q=0': 406,
      'text/event-stream;q=0, */*': 406,
      'application/json': 406,
    });
  });

  if (http1Kinds().includes(kind)) {
    it('forgets both streams of a pipelined pair when the connection resets, and maxConnections cannot be filled that way', async () => {
      for (let i = 0; i < MAX_CONNECTIONS + 10; i++) {
        const socket = await t.connect();
        socket.write(rawRequest('GET', '/adv/feed') + rawRequest('GET', '/adv/feed'));
        const head = await readResponseHead(socket);
        expect(head.status).toBe(200);
        await readUntil(socket, (text) => text.includes('event: hello'), head.rest);
        drop(socket);
      }
      await eventually(() => t.limiter.openStreams === 0, 'every pipelined stream was counted out');
      const admitted = await open('/adv/feed');
      expect(admitted.status).toBe(200);
      expect((await admitted.nextEvent()).event).toBe('hello');
    });

    it('forgets a stream queued behind a slow response on its connection when the connection resets', async () => {
      waitGate = newWait();
      const socket = await t.connect();
      socket.write(
        rawRequest('GET', '/adv/wait', { accept: 'application/json' }) + rawRequest('GET', '/adv/feed'),
      );
      await waiting.entered;
      // The stream reached its handler and the hub, but its response waits behind /adv/wait's.
      await eventually(() => t.hub.count() === 1, 'the queued stream is in the hub');
      drop(socket);
      await eventually(() => t.hub.count() === 0, 'the queued stream was forgotten with its connection');
      waiting.release();
    });

    it('registers nothing for a request cut off in its headers, or dribbled byte by byte (slowloris)', async () => {
      const cut = await t.connect();
      cut.write('GET /adv/feed HTTP/1.1\r\nHost: localhost\r\nAccept: text/ev');
      const slow = await t.connect();
      const request = rawRequest('GET', '/adv/feed');
      // All but the final CRLF, a few bytes at a time: the request never completes.
      for (let at = 0; at < request.length - 2; at += 7) {
        slow.write(request.slice(at, Math.min(at + 7, request.length - 2)));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await eventually(async () => (await t.connections()) === 2, 'both connections are open on the server');
      expect(t.hub.count()).toBe(0);
      expect(t.limiter.openStreams).toBe(0);
      drop(cut);
      drop(slow);
      expect(reached).toEqual([]);
    });
  }

  // HTTP/2 has no pipelining and no partial request line: its shapes are streams reset at every step.
  if (kind === 'h2c' || kind === 'h2') {
    it('forgets streams reset at every step: before the response, after the headers, mid-burst', async () => {
      const session = await t.session();
      // Reset before any response.
      const early = session.request(
        { ':path': '/adv/feed', accept: 'text/event-stream' },
        { endStream: true },
      );
      early.close(h2.NGHTTP2_CANCEL);
      // Reset after the headers and the first event, while a burst is going on.
      const streams = await Promise.all(Array.from({ length: 4 }, () => open('/adv/feed')));
      for (const stream of streams) await stream.nextEvent();
      for (let n = 0; n < 100; n++) {
        await t.hub.broadcast(payload(n), { channels: 'feed' });
        if (n === 30) for (const stream of streams.slice(0, 2)) stream.close();
      }
      for (const stream of streams.slice(2))
        expect((await stream.take(100)).map((event) => JSON.parse(event.data).n)).toEqual(
          Array.from({ length: 100 }, (_, n) => n),
        );
    });
  }
});

function compareIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(Number);
  const [bMs, bSeq] = b.split('-').map(Number);
  return aMs - bMs || aSeq - bSeq;
}
