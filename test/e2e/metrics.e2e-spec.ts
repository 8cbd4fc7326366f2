import { Controller, Param, RequestMethod } from '@nestjs/common';
import { Subject } from 'rxjs';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  ConnectedClient,
  SseClient,
  type SseCloseReason,
  type SseGateway,
  SseHub,
  SseRoute,
} from 'nestjs-sse-hub';
import { openSseStream, type SseTestStream } from 'nestjs-sse-hub/testing';
import { freePort } from './support/redis-server';
import { platform, startApp, type TestApp } from './support/start-app';

const MAX_CONNECTIONS = 6;
const closes = new Map<string, SseCloseReason>();

@Controller('metrics')
class MetricsController implements SseGateway {
  @SseRoute('rooms/:room/events', {
    channels: (req) => [`room:${req.params.room}`],
    keepAlive: false,
    maxPendingBytes: 64 * 1024,
  })
  room(@ConnectedClient() client: SseClient) {
    return { event: 'you', data: client.id };
  }

  @SseRoute('strict', { strictAccept: true })
  strict() {}

  @SseRoute('per-user', { maxConnectionsPer: { key: (req) => req.headers['x-user'], limit: 1 } })
  perUser() {
    return 'yours';
  }

  onClose(client: SseClient, reason: SseCloseReason) {
    closes.set(client.id, reason);
  }
}

/** Each run's tokens, by id. */
const runFeeds = new Map<string, Subject<string>>();

@Controller('metrics/runs')
class RunsMetricsController {
  @SseRoute(':id', { method: RequestMethod.POST, resumable: { key: (req) => `run:${req.params.id}` } })
  run(@Param('id') id: string) {
    const feed = new Subject<string>();
    runFeeds.set(id, feed);
    return feed;
  }
}

/** One sample of a Prometheus text exposition: its labels and value. */
interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** The samples of a scrape, by metric name (one line each: `name{a="b",c="d"} 12`). */
function parseScrape(text: string): Map<string, Sample[]> {
  const samples = new Map<string, Sample[]>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries(
      Array.from((match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g), (label) => [label[1], label[2]]),
    );
    samples.set(match[1], [...(samples.get(match[1]) ?? []), { labels, value: Number(match[3]) }]);
  }
  return samples;
}

/** The value of the one sample of `name` whose labels include `labels`. */
function valueOf(
  scrape: Map<string, Sample[]>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const matching = (scrape.get(name) ?? []).filter((sample) =>
    Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  if (matching.length > 1)
    throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matching[0]?.value;
}

describe('metrics (OpenTelemetry SDK with its Prometheus exporter, scraped over HTTP)', () => {
  let t: TestApp;
  let hub: SseHub;
  let provider: MeterProvider;
  let metricsUrl: string;

  beforeAll(async () => {
    // What the README tells a user to add, before the app starts.
    const port = await freePort();
    const exporter = new PrometheusExporter({ port, host: '127.0.0.1' });
    provider = new MeterProvider({ readers: [exporter] });
    metrics.setGlobalMeterProvider(provider);
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    t = await startApp({ controllers: [MetricsController] }, { maxConnections: MAX_CONNECTIONS });
    hub = t.app.get(SseHub);
  });

  afterAll(async () => {
    await t?.app.close();
    await provider?.shutdown();
    metrics.disable();
  });

  const scrape = async () => parseScrape(await (await fetch(metricsUrl)).text());
  // Express and Fastify name the matched route alike.
  const ROOM = { http_route: '/metrics/rooms/:room/events' };

  it('counts streams, events, bytes, refusals, slow consumers, broadcasts, replays and delivery lag, by route and reason', async () => {
    const streams: SseTestStream[] = [];
    for (let i = 0; i < 4; i++) {
      const stream = await openSseStream(t.url, '/metrics/rooms/a/events');
      await stream.nextEvent();
      streams.push(stream);
    }
    // Dropped by their clients: their durations are recorded with the reason.
    streams[0].close();
    streams[1].close();
    while (hub.count() > 2) await nextTurn();

    for (let n = 0; n < 5; n++) await hub.broadcast({ event: 'tick', data: { n } }, { channels: 'room:a' });
    const ids: string[] = [];
    for (const stream of streams.slice(2)) ids.push(...(await stream.take(5)).map((event) => event.id!));

    // A replay in full, and one with a gap (an id this server never gave).
    const replayed = await openSseStream(t.url, '/metrics/rooms/a/events', {
      headers: { 'last-event-id': ids[1] },
    });
    expect((await replayed.take(4)).map((event) => event.event)).toEqual(['tick', 'tick', 'tick', 'you']);
    const gapped = await openSseStream(t.url, '/metrics/rooms/a/events', {
      headers: { 'last-event-id': 'not-one-of-ours' },
    });
    expect((await gapped.nextEvent()).event).toBe('resync');

    // A slow consumer: it stops reading while 64 KiB events go out, and is cut off.
    const slow = await openSseStream(t.url, '/metrics/rooms/b/events');
    const slowId = (await slow.nextEvent()).data;
    slow.pause();
    const big = 'x'.repeat(64 * 1024);
    for (let n = 0; n < 2000 && !closes.has(slowId); n++) {
      await hub.broadcast({ event: 'big', data: big }, { channels: 'room:b' });
      await nextTurn();
    }
    expect(closes.get(slowId)).toBe('slow-consumer');
    slow.close();

    // Refusals: a 406, a 429 and, with every slot taken, a 503.
    expect((await fetch(`${t.url}/metrics/strict`, { headers: { accept: 'text/html' } })).status).toBe(406);
    const ann = await openSseStream(t.url, '/metrics/per-user', { headers: { 'x-user': 'ann' } });
    await ann.nextEvent();
    expect((await fetch(`${t.url}/metrics/per-user`, { headers: { 'x-user': 'ann' } })).status).toBe(429);
    const fillers: SseTestStream[] = [];
    while (hub.count() < MAX_CONNECTIONS) fillers.push(await openSseStream(t.url, '/metrics/rooms/c/events'));
    for (const filler of fillers) await filler.nextEvent();
    expect((await fetch(`${t.url}/metrics/rooms/a/events`)).status).toBe(503);

    const stats = hub.stats();
    const room = stats.routes.find((route) => route.route === ROOM.http_route)!;
    const samples = await scrape();
    expect(valueOf(samples, 'sse_server_active_streams', ROOM)).toBe(room.streams);
    expect(room.streams).toBe(MAX_CONNECTIONS - 1);
    // Events and bytes as the streams counted them; `you`, 5 ticks, the replay, the resync and the big ones.
    expect(valueOf(samples, 'sse_server_sent_events_total', ROOM)).toBe(room.events);
    expect(room.events).toBeGreaterThanOrEqual(4 + 2 * 5 + 4 + 2 + 1 + MAX_CONNECTIONS - 1);
    expect(valueOf(samples, 'sse_server_sent_bytes_total', ROOM)).toBe(room.bytes);
    expect(room.bytes).toBeGreaterThan(64 * 1024);
    // The exporter names histograms without their unit: `_count`, `_sum`, `_bucket`.
    expect(
      valueOf(samples, 'sse_server_stream_duration_count', {
        ...ROOM,
        sse_close_reason: 'client-disconnected',
      }),
    ).toBe(2);
    expect(
      valueOf(samples, 'sse_server_stream_duration_count', { ...ROOM, sse_close_reason: 'slow-consumer' }),
    ).toBe(1);
    expect(
      valueOf(samples, 'sse_server_rejected_streams_total', { sse_reject_reason: 'max_connections' }),
    ).toBe(1);
    expect(
      valueOf(samples, 'sse_server_rejected_streams_total', { sse_reject_reason: 'not_acceptable' }),
    ).toBe(1);
    expect(
      valueOf(samples, 'sse_server_rejected_streams_total', { sse_reject_reason: 'max_connections_per' }),
    ).toBe(1);
    expect(valueOf(samples, 'sse_server_slow_consumers_total', { sse_slow_consumer_policy: 'close' })).toBe(
      1,
    );
    expect(valueOf(samples, 'sse_hub_broadcasts_total')).toBe(stats.broadcasts);
    expect(valueOf(samples, 'sse_hub_replays_total', { sse_replay_status: 'complete' })).toBe(1);
    expect(valueOf(samples, 'sse_hub_replays_total', { sse_replay_status: 'gap' })).toBe(1);
    // One per broadcast delivered here (each had recipients), not one per recipient.
    expect(valueOf(samples, 'sse_hub_delivery_lag_count')).toBe(stats.broadcasts);
    expect(valueOf(samples, 'sse_hub_delivery_lag_sum')).toBeLessThan(stats.broadcasts * 5);
    expect(valueOf(samples, 'sse_transport_up')).toBe(1);

    // Never a channel or a client id among the labels: their number has no bound.
    const labels = new Set([...samples.values()].flat().flatMap((sample) => Object.values(sample.labels)));
    for (const value of labels) expect(value).not.toMatch(/room:|[0-9a-f]{8}-[0-9a-f]{4}-/);

    for (const stream of [...streams.slice(2), replayed, gapped, ann, ...fillers]) stream.close();
    while (hub.count() > 0) await nextTurn();
    expect(valueOf(await scrape(), 'sse_server_active_streams', ROOM)).toBe(0);
  });

  it('says what it matched for the route, not the URL: one series for every room', async () => {
    expect(platform()).toMatch(/express|fastify/);
    const samples = await scrape();
    const routes = new Set(
      (samples.get('sse_server_sent_events_total') ?? []).map((sample) => sample.labels.http_route),
    );
    expect([...routes].sort()).toEqual(['/metrics/per-user', ROOM.http_route]);
  });
});

/** What an instrument exports as: a counter is a monotonic sum, an up-down counter a sum. */
function kindOf(metric: MetricData): string {
  if (metric.dataPointType === DataPointType.SUM) return metric.isMonotonic ? 'monotonic sum' : 'sum';
  return metric.dataPointType === DataPointType.HISTOGRAM
    ? 'histogram'
    : metric.dataPointType === DataPointType.GAUGE
      ? 'gauge'
      : 'other';
}

describe('metrics given their own MeterProvider (SseModule.forRoot({ metrics: { meterProvider } }))', () => {
  it('records the instruments of record under the meter nestjs-sse-hub of the provider it is given', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    // Exports when flushed, not on a timer.
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const t = await startApp({ controllers: [MetricsController] }, { metrics: { meterProvider: provider } });
    try {
      const hub = t.app.get(SseHub);
      const stream = await openSseStream(t.url, '/metrics/rooms/a/events');
      await stream.nextEvent();
      await hub.broadcast('hello', { channels: 'room:a' });
      await stream.nextEvent();
      stream.close();
      while (hub.count() > 0) await nextTurn();
      await reader.forceFlush();
      const scopes = exporter.getMetrics().at(-1)!.scopeMetrics;
      expect(scopes.map((scope) => scope.scope.name)).toEqual(['nestjs-sse-hub']);
      const instruments = Object.fromEntries(
        scopes[0].metrics.map((metric) => [
          metric.descriptor.name,
          `${kindOf(metric)} ${metric.descriptor.unit}`,
        ]),
      );
      // Those that recorded something: no stream was refused, slow or replayed here.
      expect(instruments).toEqual({
        'sse.server.active_streams': 'sum {stream}',
        'sse.server.stream.duration': 'histogram s',
        'sse.server.sent_events': 'monotonic sum {event}',
        'sse.server.sent_bytes': 'monotonic sum By',
        'sse.hub.broadcasts': 'monotonic sum {broadcast}',
        'sse.hub.delivery_lag': 'histogram s',
        'sse.transport.up': 'gauge 1',
      });
    } finally {
      await t.app.close();
      await provider.shutdown();
    }
  });

  it('counts resumable runs: sse.runs.active now, sse.runs.finished by status', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const t = await startApp(
      { controllers: [RunsMetricsController] },
      { metrics: { meterProvider: provider } },
    );
    const points = async (name: string) => {
      await reader.forceFlush();
      const metric = exporter
        .getMetrics()
        .at(-1)!
        .scopeMetrics[0].metrics.find((entry) => entry.descriptor.name === name);
      return Object.fromEntries(
        (metric?.dataPoints ?? []).map((point) => [
          String(point.attributes['sse.run.status'] ?? ''),
          point.value,
        ]),
      );
    };
    try {
      const hub = t.app.get(SseHub);
      const streams = await Promise.all(
        ['1', '2', '3'].map((id) => openSseStream(t.url, `/metrics/runs/${id}`, { method: 'POST' })),
      );
      for (const id of ['1', '2', '3']) runFeeds.get(id)!.next('token');
      for (const stream of streams) await stream.nextEvent();
      expect(await points('sse.runs.active')).toEqual({ '': 3 });
      runFeeds.get('1')!.complete();
      runFeeds.get('2')!.error(new Error('the model fell over'));
      await hub.abortRun('run:3');
      for (const stream of streams) await stream.closed();
      await expect(points('sse.runs.active')).resolves.toEqual({ '': 0 });
      expect(await points('sse.runs.finished')).toEqual({ completed: 1, failed: 1, aborted: 1 });
    } finally {
      await t.app.close();
      await provider.shutdown();
    }
  });
});
