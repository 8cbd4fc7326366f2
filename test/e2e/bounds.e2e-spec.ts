import { Controller } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  ConnectedClient,
  SseClient,
  type SseCloseReason,
  SseEventTooLargeError,
  type SseGateway,
  SseHub,
  SseModule,
  SseRoute,
} from 'nestjs-sse-hub';
import { SsePendingBudget } from '../../src/internal';
import { openSseStream, type SseTestStream } from 'nestjs-sse-hub/testing';
import { eventually, KindApp } from './support/server-kinds';
import { startApp, type TestApp } from './support/start-app';

/** Every bound holds on every path that writes bytes: maxEventBytes, maxPendingBytes, maxTotalPendingBytes. */
const closes = new Map<string, SseCloseReason>();
let setupGate: Promise<void> = Promise.resolve();
let personal = false;

@Controller('bounds')
class BoundsController implements SseGateway {
  @SseRoute('small', { channels: ['all'], maxEventBytes: 1024, keepAlive: false })
  small(@ConnectedClient() client: SseClient) {
    return { event: 'you', data: client.id };
  }

  @SseRoute('large', { channels: ['all'], keepAlive: false })
  large(@ConnectedClient() client: SseClient) {
    return { event: 'you', data: client.id };
  }

  // Setup that takes as long as the test wants: the client is in the hub, waiting.
  @SseRoute('slow-setup', { channels: ['all'], keepAlive: false })
  async slowSetup() {
    await setupGate;
  }

  onMessage(message: unknown, client: SseClient) {
    if (message === 'grow') return { event: 'grown', data: 'g'.repeat(4096) };
    // A different value for each client: nothing is shared between their buffers.
    if (personal && typeof message === 'object') return { ...(message as object), to: client.id };
    return message;
  }

  onClose(client: SseClient, reason: SseCloseReason) {
    closes.set(client.id, reason);
  }
}

describe('maxEventBytes on every path', () => {
  let t: TestApp;
  let hub: SseHub;
  beforeAll(async () => {
    t = await startApp({ controllers: [BoundsController] }, { maxEventBytes: 8 * 1024 });
    hub = t.app.get(SseHub);
  });
  afterAll(() => t.app.close());
  afterEach(() => (t.logger.lines.length = 0));

  async function pair(): Promise<[SseTestStream, SseTestStream]> {
    const small = await openSseStream(t.url, '/bounds/small');
    const large = await openSseStream(t.url, '/bounds/large');
    await small.nextEvent();
    await large.nextEvent();
    return [small, large];
  }

  it('a route’s own limit holds for hub broadcasts: its clients get a resync instead, the others the event, and it is logged once', async () => {
    const [small, large] = await pair();
    await hub.broadcast({ event: 'big', data: 'b'.repeat(2000) }, { channels: 'all' });
    await hub.broadcast({ event: 'after', data: 'x' }, { channels: 'all' });
    const [resync, after] = await small.take(2);
    expect(resync.event).toBe('resync');
    expect(JSON.parse(resync.data)).toMatchObject({ dropped: 1 });
    expect(after.event).toBe('after');
    expect((await large.take(2)).map((event) => event.event)).toEqual(['big', 'after']);
    expect(t.logger.errors().filter((line) => /over the maxEventBytes of 1 client/.test(line))).toHaveLength(
      1,
    );
    small.close();
    large.close();
  });

  it('a value returned by onMessage is held to the client’s limit as well', async () => {
    const [small, large] = await pair();
    await hub.broadcast('grow', { channels: 'all' });
    expect((await small.nextEvent()).event).toBe('resync');
    expect((await large.nextEvent()).event).toBe('grown');
    small.close();
    large.close();
  });

  it('a value is encoded once, and what is sent is what was checked (a toJSON that changes cannot slip past the limit)', async () => {
    const [small, large] = await pair();
    let calls = 0;
    const shifty = { toJSON: () => (++calls === 1 ? { ok: 'small' } : { ok: 'x'.repeat(100_000) }) };
    await hub.broadcast({ event: 'shifty', data: shifty }, { channels: 'all' });
    expect(calls).toBe(1);
    for (const stream of [small, large])
      expect(await stream.nextEvent()).toMatchObject({ event: 'shifty', data: '{"ok":"small"}' });
    small.close();
    large.close();
  });

  it('an event of millions of line breaks is refused before it is encoded', async () => {
    const rejection = hub.broadcast('\n'.repeat(4 * 1024 * 1024));
    await expect(rejection).rejects.toBeInstanceOf(SseEventTooLargeError);
    await expect(rejection).rejects.toMatchObject({ atLeast: true, maxEventBytes: 8 * 1024 });
  });
});

describe('maxPendingBytes for a stream whose setup is slow', () => {
  let t: TestApp;
  let hub: SseHub;
  beforeAll(async () => {
    t = await startApp({ controllers: [BoundsController] }, { maxPendingBytes: 256 * 1024 });
    hub = t.app.get(SseHub);
  });
  afterAll(() => t.app.close());

  it.each([
    ['without Last-Event-ID', {}],
    ['with a Last-Event-ID (its live events held for the replay)', { 'last-event-id': '1-0' }],
  ])('%s: it ends as a slow consumer once what it holds passes the limit', async (_what, headers) => {
    let release!: () => void;
    setupGate = new Promise((resolve) => (release = resolve));
    const opening = openSseStream(t.url, '/bounds/slow-setup', { headers });
    await eventually(() => hub.count() === 1, 'the stream is in the hub');
    const [client] = hub.clients();
    let peak = 0;
    for (let n = 0; n < 100 && !client.closed; n++) {
      // To everyone: its channels are joined once the handler is done.
      await hub.broadcast({ n, padding: 'h'.repeat(10_000) });
      peak = Math.max(peak, client.pendingBytes);
    }
    expect(closes.get(client.id)).toBe('slow-consumer');
    expect(peak).toBeLessThanOrEqual(256 * 1024);
    release();
    const stream = await opening;
    await stream.closed();
    expect(hub.count()).toBe(0);
  });
});

/** What the server holds for all its clients right now, as each client counts it. */
function heldByAll(hub: SseHub): number {
  return hub.clients().reduce((sum, client) => sum + client.pendingBytes, 0);
}

describe('maxTotalPendingBytes: one bound for the whole application', () => {
  const BUDGET = 2 * 1024 * 1024;

  it('defaults to a share of the machine, and refuses a bad value at start-up', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [SseModule.forRoot()] }).compile();
    const budget = moduleRef.get(SsePendingBudget);
    expect(budget.max).toBeGreaterThan(64 * 1024 * 1024);
    await moduleRef.close();
    await expect(
      Test.createTestingModule({ imports: [SseModule.forRoot({ maxTotalPendingBytes: -1 })] }).compile(),
    ).rejects.toThrow(/maxTotalPendingBytes must be a positive integer/);
  });

  it('streams whose setup stalls hold no more than the budget between them: the ones holding most are shed', async () => {
    const t = await startApp({ controllers: [BoundsController] }, { maxTotalPendingBytes: BUDGET });
    const hub = t.app.get(SseHub);
    try {
      let release!: () => void;
      setupGate = new Promise((resolve) => (release = resolve));
      // Each may hold 1 MiB (the default maxPendingBytes); ten of them could hold 10.
      const opening = Array.from({ length: 10 }, () => openSseStream(t.url, '/bounds/slow-setup'));
      await eventually(() => hub.count() === 10, 'ten streams wait in the hub');
      let peak = 0;
      for (let n = 0; n < 200 && hub.count() > 0; n++) {
        await hub.broadcast({ n, padding: 't'.repeat(20_000) });
        peak = Math.max(peak, heldByAll(hub));
      }
      expect(peak).toBeLessThanOrEqual(BUDGET + 30_000);
      expect([...closes.values()].filter((reason) => reason === 'slow-consumer').length).toBeGreaterThan(0);
      release();
      for (const stream of await Promise.all(opening)) stream.close();
    } finally {
      await t.app.close();
    }
  });

  it('a thousand values to readers that stopped (each its own, from onMessage) stay within the budget; the readers that read get everything', async () => {
    // Over a Unix socket, whose kernel buffers are small: what the server holds shows at once.
    personal = true;
    closes.clear();
    const t = await KindApp.start(
      'unix',
      { controllers: [BoundsController] },
      { maxTotalPendingBytes: BUDGET, keepAlive: false },
    );
    try {
      const stalled = await Promise.all(Array.from({ length: 8 }, () => t.open('/bounds/large')));
      for (const stream of stalled) {
        await stream.nextEvent();
        stream.pause();
      }
      const reader = await t.open('/bounds/large');
      await reader.nextEvent();
      let peak = 0;
      let sent = 0;
      // Until the budget had to act; each stalled reader alone stays under its own 1 MiB.
      while ([...closes.values()].filter((reason) => reason === 'slow-consumer').length < 3 && sent < 5000) {
        await t.hub.broadcast({ n: sent++, padding: 'q'.repeat(2000) }, { channels: 'all' });
        peak = Math.max(peak, heldByAll(t.hub));
        if (sent % 20 === 0) await nextTurn();
      }
      expect(peak).toBeLessThanOrEqual(BUDGET + 10_000);
      const got = (await reader.take(sent)).map((event) => JSON.parse(event.data).n);
      expect(got).toEqual(Array.from({ length: sent }, (_, n) => n));
      for (const stream of [...stalled, reader]) stream.close();
    } finally {
      personal = false;
      await t.close();
    }
  });
});
