import { Controller } from '@nestjs/common';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { SseHub, SseRoute } from 'nestjs-sse-hub';
import { openSseStream, type SseTestStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

@Controller('stats')
class StatsController {
  @SseRoute('rooms/:room', { channels: (req) => [`room:${req.params.room}`], keepAlive: false })
  room() {}

  @SseRoute('feed', { keepAlive: false })
  feed() {
    return 'hello';
  }
}

describe('SseHub.stats()', () => {
  let t: TestApp;
  let hub: SseHub;
  beforeAll(async () => {
    t = await startApp(
      { controllers: [StatsController] },
      { maxConnections: 50, maxTotalPendingBytes: 64 * 1024 * 1024 },
    );
    hub = t.app.get(SseHub);
  });
  afterAll(() => t.app.close());

  it('is a snapshot of streams by route, the busiest channels, pending bytes, limits and the transport', async () => {
    const streams: SseTestStream[] = [];
    for (const path of [
      '/stats/rooms/a',
      '/stats/rooms/a',
      '/stats/rooms/a',
      '/stats/rooms/b',
      '/stats/feed',
      '/stats/feed',
    ])
      streams.push(await openSseStream(t.url, path));
    for (const stream of streams.slice(4)) await stream.nextEvent();
    await hub.broadcast({ event: 'note', data: 'to room a' }, { channels: 'room:a' });
    for (const stream of streams.slice(0, 3)) await stream.nextEvent();

    const stats = hub.stats();
    expect(stats).toMatchObject({
      streams: 6,
      maxConnections: 50,
      maxTotalPendingBytes: 64 * 1024 * 1024,
      channels: {
        count: 2,
        busiest: [
          { channel: 'room:a', streams: 3 },
          { channel: 'room:b', streams: 1 },
        ],
      },
      slowConsumers: { close: 0, drop: 0 },
      rejected: { max_connections: 0, max_connections_per: 0, not_acceptable: 0, shutting_down: 0 },
      broadcasts: 1,
      replays: { complete: 0, gap: 0 },
      transport: { name: 'InMemoryTransport', up: true },
    });
    expect(Math.abs(stats.time - Date.now())).toBeLessThan(60_000);
    expect(stats.pendingBytes).toBeGreaterThanOrEqual(0);
    // Busiest first; what each route's streams were sent, counted by the streams themselves.
    const note = 'event: note\ndata: to room a\n'.length;
    expect(stats.routes.map(({ route, streams, events }) => ({ route, streams, events }))).toEqual([
      { route: '/stats/rooms/:room', streams: 4, events: 3 },
      { route: '/stats/feed', streams: 2, events: 2 },
    ]);
    expect(stats.routes[0].bytes).toBeGreaterThanOrEqual(3 * note);

    for (const stream of streams) stream.close();
    while (hub.count() > 0) await nextTurn();
    const after = hub.stats();
    expect(after.streams).toBe(0);
    expect(after.routes.map((route) => route.streams)).toEqual([0, 0]);
    expect(after.channels).toEqual({ count: 0, busiest: [] });
    // A plain object: it goes out as JSON as it is.
    expect(JSON.parse(JSON.stringify(after))).toEqual(after);
  });
});
