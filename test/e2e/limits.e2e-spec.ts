import { Controller } from '@nestjs/common';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  ConnectedClient,
  SseClient,
  type SseCloseReason,
  SseEventTooLargeError,
  type SseGateway,
  SseHub,
  SseRoute,
} from 'nestjs-sse-hub';
import { openSseStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

const closes = new Map<string, SseCloseReason>();
const MAX_PENDING = 256 * 1024;

@Controller('limits')
class LimitsController implements SseGateway {
  @SseRoute('feed', { channels: ['feed'], maxPendingBytes: MAX_PENDING, keepAlive: false })
  feed(@ConnectedClient() client: SseClient) {
    return { event: 'you', data: client.id };
  }

  @SseRoute('feed-drop', {
    channels: ['feed'],
    maxPendingBytes: MAX_PENDING,
    slowConsumer: 'drop',
    keepAlive: false,
  })
  feedDrop(@ConnectedClient() client: SseClient) {
    return { event: 'you', data: client.id };
  }

  @SseRoute('per-user', { maxConnectionsPer: { key: (req) => req.headers['x-user'], limit: 2 } })
  perUser() {}

  @SseRoute('strict', { strictAccept: true })
  strict() {
    return 'ok';
  }

  @SseRoute('any')
  any(@ConnectedClient() client: SseClient) {
    return client.lastEventId ?? 'no id';
  }

  onClose(client: SseClient, reason: SseCloseReason) {
    closes.set(client.id, reason);
  }
}

/** A ~2 KB event numbered n. */
const payload = (n: number) => ({ n, padding: 'x'.repeat(2000) });

describe('limits', () => {
  let t: TestApp;
  let hub: SseHub;
  beforeAll(async () => {
    t = await startApp({ controllers: [LimitsController] }, { maxConnections: 12, maxEventBytes: 64 * 1024 });
    hub = t.app.get(SseHub);
  });
  afterAll(() => t.app.close());

  it('closes a client that stops reading ("slow-consumer"), with memory bounded, while the fast ones get everything', async () => {
    const TOTAL = 10_000;
    const slow = await openSseStream(t.url, '/limits/feed');
    const slowId = (await slow.nextEvent()).data;
    const slowClient = hub.clients().find((client) => client.id === slowId)!;
    slow.pause();
    const fast = await Promise.all(
      [1, 2, 3].map(() => openSseStream(t.url, '/limits/feed', { timeout: 20_000 })),
    );
    for (const stream of fast) await stream.nextEvent();
    // What the server holds for the slow client: its unread bytes, sampled after every broadcast.
    let peakPending = 0;
    for (let n = 0; n < TOTAL; n++) {
      await hub.broadcast(payload(n), { channels: 'feed' });
      peakPending = Math.max(peakPending, slowClient.pendingBytes);
      if (n % 20 === 0) await nextTurn();
    }
    for (const stream of fast) {
      const got = (await stream.take(TOTAL)).map((event) => JSON.parse(event.data).n);
      expect(got).toEqual(Array.from({ length: TOTAL }, (_, n) => n));
    }
    expect(closes.get(slowId)).toBe('slow-consumer');
    // What reached the slow client before it was cut off: its socket buffers plus at most maxPendingBytes.
    slow.resume();
    await slow.closed();
    const delivered = slow.body.length;
    const broadcast = TOTAL * JSON.stringify(payload(0)).length;
    console.log(
      `slow consumer: at most ${(peakPending / 1024).toFixed(0)} KiB held for it (limit ${MAX_PENDING / 1024} KiB); ` +
        `cut off after ${(delivered / 1024 / 1024).toFixed(1)} MiB (socket buffers included) of ${(broadcast / 1024 / 1024).toFixed(1)} MiB broadcast`,
    );
    expect(peakPending).toBeLessThanOrEqual(MAX_PENDING + JSON.stringify(payload(TOTAL)).length + 64);
    expect(delivered).toBeLessThan(broadcast / 2);
    for (const stream of fast) stream.close();
  });

  it('with slowConsumer "drop", skips events for a client that stops reading and says so with a resync once it catches up', async () => {
    const TOTAL = 3000;
    const slow = await openSseStream(t.url, '/limits/feed-drop', { timeout: 10_000 });
    await slow.nextEvent();
    slow.pause();
    for (let n = 0; n < TOTAL; n++) {
      await hub.broadcast(payload(n), { channels: 'feed' });
      if (n % 20 === 0) await nextTurn();
    }
    slow.resume();
    const received: number[] = [];
    let resync: { dropped: number; lastEventId: string } | undefined;
    while (!resync) {
      const event = await slow.nextEvent();
      if (event.event === 'resync') resync = JSON.parse(event.data);
      else received.push(JSON.parse(event.data).n);
    }
    await hub.broadcast(payload(TOTAL), { channels: 'feed' });
    const after = JSON.parse((await slow.nextEvent()).data).n;
    console.log(`drop policy: ${received.length} delivered, ${resync.dropped} dropped, then a resync`);
    expect(resync.dropped).toBeGreaterThan(0);
    // Everything up to the drop, then exactly the dropped ones missing, then live again.
    expect(received).toEqual(Array.from({ length: received.length }, (_, n) => n));
    expect(received.length + resync.dropped).toBe(TOTAL);
    expect(after).toBe(TOTAL);
    expect(resync.lastEventId).toMatch(/^\d+-\d+$/);
    slow.close();
  });

  it('answers 503 with Retry-After past maxConnections, before any stream starts, and admits again once one closes', async () => {
    const open = await Promise.all(Array.from({ length: 12 }, () => openSseStream(t.url, '/limits/any')));
    const refused = await openSseStream(t.url, '/limits/any');
    await refused.closed();
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(JSON.parse(refused.body).message).toMatch(/limit of 12 event streams/);
    open[0].close();
    await open[0].closed();
    await new Promise<void>((resolve) => {
      const check = () => (hub.count() < 12 ? resolve() : setImmediate(check));
      check();
    });
    const admitted = await openSseStream(t.url, '/limits/any');
    expect(admitted.status).toBe(200);
    for (const stream of [...open, admitted]) stream.close();
  });

  it('answers 429 with Retry-After past maxConnectionsPer for one key, and counts other keys apart', async () => {
    const ann = { headers: { 'x-user': 'ann' } };
    const first = [
      await openSseStream(t.url, '/limits/per-user', ann),
      await openSseStream(t.url, '/limits/per-user', ann),
    ];
    const third = await openSseStream(t.url, '/limits/per-user', ann);
    await third.closed();
    expect(third.status).toBe(429);
    expect(third.headers['retry-after']).toBe('5');
    const bob = await openSseStream(t.url, '/limits/per-user', { headers: { 'x-user': 'bob' } });
    expect(bob.status).toBe(200);
    for (const stream of [...first, bob]) stream.close();
  });

  it('refuses an event larger than maxEventBytes at send and at broadcast, sending nothing', async () => {
    const stream = await openSseStream(t.url, '/limits/feed');
    const id = (await stream.nextEvent()).data;
    const client = hub.clients().find((c) => c.id === id)!;
    const huge = 'x'.repeat(70 * 1024);
    const sent = client.send(huge);
    expect(!sent.ok && sent.error).toBeInstanceOf(SseEventTooLargeError);
    await expect(hub.broadcast(huge, { channels: 'feed' })).rejects.toThrow(
      /over the limit of 65536 \(maxEventBytes\)/,
    );
    await hub.broadcast('small', { channels: 'feed' });
    expect((await stream.nextEvent()).data).toBe('small');
    stream.close();
  });
});

describe('bad input gets a defined answer', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startApp({ controllers: [LimitsController] })));
  afterAll(() => t.app.close());
  afterEach(() => expect(t.logger.errors()).toEqual([]));

  it('serves a GET that carries a body, ignoring it', async () => {
    const stream = await openSseStream(t.url, '/limits/any', { body: { unexpected: true } });
    expect(stream.status).toBe(200);
    expect((await stream.nextEvent()).data).toBe('no id');
    stream.close();
  });

  it('serves an Accept that does not ask for text/event-stream, unless the route is strict (406)', async () => {
    const lax = await openSseStream(t.url, '/limits/any', { headers: { accept: 'application/json' } });
    expect(lax.status).toBe(200);
    const refused = await openSseStream(t.url, '/limits/strict', { headers: { accept: 'application/json' } });
    await refused.closed();
    expect(refused.status).toBe(406);
    expect(JSON.parse(refused.body).message).toMatch(/Accept: text\/event-stream/);
    const accepted = await openSseStream(t.url, '/limits/strict');
    expect(accepted.status).toBe(200);
    lax.close();
    accepted.close();
  });

  it('serves odd query strings', async () => {
    const stream = await openSseStream(t.url, '/limits/any?lastEventId=%ZZ&a[b][c]=1&&=&x=%00');
    expect(stream.status).toBe(200);
    // Not an id of ours: a resync, then the handler, which sees what was sent.
    expect(await stream.take(2)).toEqual([
      expect.objectContaining({ event: 'resync', data: '{"lastEventId":"%ZZ"}' }),
      expect.objectContaining({ data: '%ZZ' }),
    ]);
    stream.close();
  });

  it('answers a header too large to read with 431, from Node, before Nest', async () => {
    const stream = await openSseStream(t.url, '/limits/any', { headers: { 'x-big': 'y'.repeat(20_000) } });
    expect(stream.status).toBe(431);
  });
});
