import { Controller, Param } from '@nestjs/common';
import { drop } from './support/raw-http';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Subject } from 'rxjs';
import { SseClient, type SseCloseReason, type SseGateway, SseHub, SseRoute } from 'nestjs-sse-hub';
import { openSseStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

/** Where a stream's setup waits, and how the test lets it go on. */
class Gate {
  entered!: Promise<void>;
  private enter!: () => void;
  private release!: () => void;
  private released!: Promise<void>;
  constructor() {
    this.reset();
  }
  reset(): void {
    this.entered = new Promise((resolve) => (this.enter = resolve));
    this.released = new Promise((resolve) => (this.release = resolve));
  }
  async pass(): Promise<void> {
    this.enter();
    await this.released;
  }
  open(): void {
    this.release();
  }
}

const gate = new Gate();
const closes: Array<[string, SseCloseReason]> = [];
const failing = new Subject<unknown>();

@Controller('faults')
class FaultsController implements SseGateway {
  @SseRoute('join/:mode', {
    channels: async (req) => {
      if (req.params.mode === 'channels') await gate.pass();
      return ['faults'];
    },
  })
  join(@Param('mode') _mode: string) {}

  // Room for the whole burst (20 MB): this route is about resets, and on a loaded machine a
  // survivor that reads a little late must not be cut off as a slow consumer instead.
  @SseRoute('burst', { channels: ['burst'], maxPendingBytes: 32 * 1024 * 1024 })
  burst() {}

  @SseRoute('failing')
  failing() {
    return failing;
  }

  async onJoin(client: SseClient) {
    const mode = client.request.params.mode;
    if (mode === 'onjoin') await gate.pass();
    if (mode === 'never') await new Promise(() => {});
    return undefined;
  }

  onClose(client: SseClient, reason: SseCloseReason) {
    closes.push([client.request.url, reason]);
  }
}

describe('faults: no crash, no unhandled rejection, exactly one onClose, right counts', () => {
  let t: TestApp;
  let hub: SseHub;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    t = await startApp({ controllers: [FaultsController] });
    hub = t.app.get(SseHub);
  });
  afterAll(async () => {
    await t.app.close();
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  });
  beforeEach(() => {
    closes.length = 0;
    gate.reset();
  });
  afterEach(async () => {
    // Let any late rejection surface before judging.
    await nextTurn();
    expect(unhandled).toEqual([]);
    expect(t.logger.headersSentErrors()).toEqual([]);
  });

  /** Opens a raw request and resolves with its socket as soon as it is connected. */
  function rawRequest(path: string) {
    const { hostname, port } = new URL(t.url);
    const req = httpRequest({ hostname, port, path, agent: false });
    req.on('error', () => {});
    req.end();
    return new Promise<Socket>((resolve) =>
      req.once('socket', (socket) => socket.once('connect', () => resolve(socket))),
    );
  }

  async function untilClosed(count: number) {
    while (closes.length < count) await nextTurn();
  }

  it.each([
    ['onJoin', '/faults/join/onjoin'],
    ['an async channels resolver', '/faults/join/channels'],
  ])(
    'a client that disconnects in the middle of %s gets one onClose, and setup stops',
    async (_where, path) => {
      const socket = await rawRequest(path);
      await gate.entered;
      drop(socket);
      await untilClosed(1);
      gate.open();
      await nextTurn();
      expect(closes).toEqual([[path, 'client-disconnected']]);
      expect(hub.count()).toBe(0);
    },
  );

  it('a stream still in onJoin does not hoard broadcasts: past maxPendingBytes it ends as a slow consumer', async () => {
    const opening = openSseStream(t.url, '/faults/join/onjoin');
    await gate.entered;
    // Over the default 1 MiB, queued for a client that has not started yet.
    for (let n = 0; n < 12; n++)
      await hub.broadcast({ n, padding: 'q'.repeat(100_000) }, { channels: 'faults' });
    expect(closes).toEqual([['/faults/join/onjoin', 'slow-consumer']]);
    gate.open();
    const stream = await opening;
    await stream.closed();
    // A 200 that ends at once (EventSource reconnects and replays), without the hoard.
    expect(stream.status).toBe(200);
    expect(stream.received).toEqual([]);
    expect(hub.count()).toBe(0);
  });

  it('an onJoin that never resolves holds nothing once its client disconnects', async () => {
    const socket = await rawRequest('/faults/join/never');
    while (hub.count() === 0) await nextTurn();
    drop(socket);
    await untilClosed(1);
    expect(closes).toEqual([['/faults/join/never', 'client-disconnected']]);
    expect(hub.count()).toBe(0);
  });

  it('a socket reset in the middle of large writes (EPIPE / ECONNRESET) is one onClose, and the others carry on', async () => {
    const doomed = await Promise.all(Array.from({ length: 5 }, () => openSseStream(t.url, '/faults/burst')));
    const survivor = await openSseStream(t.url, '/faults/burst', { timeout: 20_000 });
    const big = 'y'.repeat(100_000);
    for (let n = 0; n < 200; n++) {
      await hub.broadcast({ n, big }, { channels: 'burst' });
      if (n === 50) for (const stream of doomed) stream.close();
      if (n % 10 === 0) await nextTurn();
    }
    await untilClosed(5);
    const got = (await survivor.take(200)).map((event) => JSON.parse(event.data).n);
    expect(got).toEqual(Array.from({ length: 200 }, (_, n) => n));
    expect(closes).toEqual(Array.from({ length: 5 }, () => ['/faults/burst', 'client-disconnected']));
    expect(hub.count('burst')).toBe(1);
    survivor.close();
    await untilClosed(6);
  });

  it('a handler Observable that errors ends that stream with one onClose("error")', async () => {
    const stream = await openSseStream(t.url, '/faults/failing');
    failing.error(new Error('upstream died'));
    await stream.closed();
    await untilClosed(1);
    expect(closes).toEqual([['/faults/failing', 'error']]);
    expect(hub.count()).toBe(0);
  });
});
