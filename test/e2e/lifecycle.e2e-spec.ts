import { Controller } from '@nestjs/common';
import { drop } from './support/raw-http';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { SseClient, type SseCloseReason, type SseGateway, SseHub, SseRoute } from 'nestjs-sse-hub';
import { openSseStream, type SseTestStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

const STREAMS = 1000;
const closes: SseCloseReason[] = [];

@Controller('life')
class LifeController implements SseGateway {
  @SseRoute('events', { keepAlive: 60_000, channels: ['everyone'] })
  events() {
    return undefined;
  }

  @SseRoute('stuck', { maxPendingBytes: 512 * 1024 * 1024, keepAlive: false })
  stuck() {}

  onJoin(client: SseClient) {
    return { event: 'welcome', data: client.id };
  }

  onClose(_client: SseClient, reason: SseCloseReason) {
    closes.push(reason);
  }
}

/** What each raw stream received, by socket. */
const bodies = new WeakMap<Socket, string[]>();

/** Opens `count` raw streams at once and resolves when each has its welcome event. */
async function openMany(url: string, count: number): Promise<Socket[]> {
  const { hostname, port } = new URL(url);
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const req = httpRequest({
            hostname,
            port,
            path: '/life/events',
            agent: false,
            headers: { accept: 'text/event-stream' },
          });
          req.once('error', reject);
          req.once('response', (res) => {
            const chunks: string[] = [];
            bodies.set(res.socket, chunks);
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => chunks.push(chunk));
            res.once('data', () => resolve(res.socket));
          });
          req.end();
        }),
    ),
  );
}

/**
 * A client that stopped reading a stream of /life/stuck, with more than a MiB queued for it
 * in the server (past the socket buffers, a few MB on loopback). Never a slow consumer
 * there: the bytes stay queued.
 */
async function stuckReader(t: TestApp): Promise<{ stuck: SseTestStream; client: SseClient }> {
  const hub = t.app.get(SseHub);
  const stuck = await openSseStream(t.url, '/life/stuck', { timeout: 20_000 });
  await stuck.nextEvent();
  stuck.pause();
  const client = hub.clients().find((c) => c.request.url === '/life/stuck')!;
  for (let n = 0; client.pendingBytes < 1024 * 1024; n++) {
    await hub.broadcast({ n, padding: 'z'.repeat(60_000) });
    if (n % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return { stuck, client };
}

function timers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

describe('lifecycle: nothing left behind', () => {
  let t: TestApp;
  afterEach(async () => {
    await t?.app.close();
    expect(t.logger.headersSentErrors()).toEqual([]);
    expect(t.logger.errors()).toEqual([]);
  });

  it(`opens and drops ${STREAMS} streams: the hub is empty and no timer is left`, async () => {
    t = await startApp({ controllers: [LifeController] });
    const hub = t.app.get(SseHub);
    closes.length = 0;
    const before = timers();
    const sockets = await openMany(t.url, STREAMS);
    expect(hub.count()).toBe(STREAMS);
    expect(hub.count('everyone')).toBe(STREAMS);
    const allClosed = new Promise<void>((resolve) => {
      const check = () => (closes.length === STREAMS ? resolve() : setImmediate(check));
      check();
    });
    for (const socket of sockets) drop(socket);
    await allClosed;
    expect(closes.every((reason) => reason === 'client-disconnected')).toBe(true);
    expect(hub.count()).toBe(0);
    expect(hub.count('everyone')).toBe(0);
    // The streams' keepalive ticker (one timer for all of them) stops with the last one.
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it(`app.close() with ${STREAMS} open streams returns without waiting on clients, each onClose seeing "shutdown"`, async () => {
    t = await startApp({ controllers: [LifeController] });
    t.app.getHttpServer().keepAliveTimeout = 60_000;
    closes.length = 0;
    const sockets = await openMany(t.url, STREAMS);
    const ended = sockets.map((socket) => new Promise((resolve) => socket.once('close', resolve)));
    const started = performance.now();
    await t.app.close();
    const took = performance.now() - started;
    console.log(`app.close() with ${STREAMS} open streams took ${took.toFixed(0)} ms`);
    // Timing is the benchmark's to judge: this bound only proves that nothing waited for the
    // clients (which never hang up) or for the keep-alive timeout, set to a minute.
    expect(took).toBeLessThan(30_000);
    expect(closes).toHaveLength(STREAMS);
    expect(new Set(closes)).toEqual(new Set(['shutdown']));
    await Promise.all(ended);
    // Each got a last retry drawn from 1000–5000 ms, so reconnects spread out.
    const retries = sockets.map((socket) =>
      Number(/retry: (\d+)\n\n$/.exec(bodies.get(socket)!.join(''))?.[1]),
    );
    expect(retries.every((retry) => retry >= 1000 && retry <= 5000)).toBe(true);
    expect(new Set(retries).size).toBeGreaterThan(STREAMS / 2);
  });

  it('app.close() does not wait for a client that stopped reading', async () => {
    t = await startApp({ controllers: [LifeController] });
    t.app.getHttpServer().keepAliveTimeout = 60_000;
    const { stuck } = await stuckReader(t);
    const started = performance.now();
    await t.app.close();
    const took = performance.now() - started;
    // server.close() drops a connection that is not receiving a request, unflushed bytes and
    // all; waiting for the stuck reader instead would never end.
    expect(took).toBeLessThan(30_000);
    stuck.close();
  });

  it('app.close() does not wait for a client that stopped reading a stream the server had already ended', async () => {
    t = await startApp({ controllers: [LifeController] });
    const hub = t.app.get(SseHub);
    const { stuck, client } = await stuckReader(t);
    // Ended with more than a MiB still to send: its connection stays open for the reader.
    client.close();
    expect(hub.count()).toBe(0);
    const started = performance.now();
    await t.app.close();
    // Nothing waits for the stuck reader: without it the close never returns (the test times out).
    expect(performance.now() - started).toBeLessThan(30_000);
    stuck.close();
  });

  it('a stream opened while the app shuts down gets a 200 that ends, so EventSource retries', async () => {
    t = await startApp({ controllers: [LifeController] });
    const hub = t.app.get(SseHub);
    await hub.beforeApplicationShutdown();
    const stream = await openSseStream(t.url, '/life/events');
    await stream.closed();
    expect(stream.status).toBe(200);
    expect(stream.received).toEqual([{ type: 'retry', retry: expect.any(Number) }]);
    // Counted as refused (sse.server.rejected_streams, shutting_down).
    expect(hub.stats().rejected).toMatchObject({ shutting_down: 1, max_connections: 0 });
  });
});
