import type * as OpenTelemetry from '@opentelemetry/api';
import type { Attributes, Meter } from '@opentelemetry/api';
import {
  type SlowConsumerPolicy,
  type SseCloseReason,
  type SseReplayStatus,
  StreamTally,
  type StreamTallyObserver,
} from '../connection';
import { METER_NAME, OtelInstruments } from './otel-instruments';
import { type SseRejectReason } from './sse-hub-stats.interface';
import { type SseMetricsOptions } from './sse-metrics-options.interface';
import { type SseTransportState } from './sse-transport-state.interface';
import { type ThrottledLogger } from './throttled-logger';

/** OpenTelemetry's API, if the app has it (an optional peer): without it, no metrics and no cost. */
async function loadMeter(options: SseMetricsOptions | false | undefined): Promise<Meter | undefined> {
  if (options === false) return undefined;
  if (options?.meterProvider) return options.meterProvider.getMeter(METER_NAME) as Meter;
  let api: typeof OpenTelemetry;
  try {
    // Imported, not required: the library also runs as an ES module (NestJS 12's test runs).
    api = await import('@opentelemetry/api');
  } catch {
    return undefined;
  }
  // Without a registered SDK this is a no-op meter: nothing is recorded.
  return api.metrics.getMeter(METER_NAME);
}

/**
 * What the people running the app are told: the totals behind `SseHub.stats()` (always
 * counted, in plain numbers), the OpenTelemetry instruments (once `start()` finds a
 * meter), and a warning per slow consumer (rate-limited).
 */
export class HubMetrics implements StreamTallyObserver {
  readonly rejected: Record<SseRejectReason, number> = {
    max_connections: 0,
    max_connections_per: 0,
    not_acceptable: 0,
    shutting_down: 0,
  };
  readonly replays = { complete: 0, gap: 0 };
  broadcasts = 0;
  /** Runs this instance produces now, and those it produced that ended, by status. */
  readonly runs = { active: 0, finished: { completed: 0, failed: 0, aborted: 0 } };
  private readonly tallies = new Map<string, StreamTally>();
  private readonly attributes = new Map<StreamTally, Attributes>();
  private instruments: OtelInstruments | undefined;

  constructor(
    private readonly transportState: () => SseTransportState,
    private readonly logger: ThrottledLogger,
  ) {}

  /** Creates the instruments, from the app's meter provider at start-up (after its SDK has registered). */
  async start(options: SseMetricsOptions | false | undefined): Promise<void> {
    const meter = await loadMeter(options);
    if (!meter || this.instruments) return;
    this.instruments = new OtelInstruments(meter, {
      routes: () =>
        Array.from(this.tallies.values(), (tally) => ({
          attributes: this.attributes.get(tally)!,
          events: tally.events,
          bytes: tally.bytes,
        })),
      transport: this.transportState,
    });
  }

  /** Stops reporting to OpenTelemetry (the application has shut down). */
  stop(): void {
    this.instruments?.stop();
    this.instruments = undefined;
  }

  /** The tally of one route's streams (a route is a template, so there are few). */
  route(route: string): StreamTally {
    let tally = this.tallies.get(route);
    if (!tally) {
      tally = new StreamTally(route, this);
      this.tallies.set(route, tally);
      this.attributes.set(tally, { 'http.route': route });
    }
    return tally;
  }

  routes(): Iterable<StreamTally> {
    return this.tallies.values();
  }

  streamStarted(tally: StreamTally): void {
    this.instruments?.activeStreams.add(1, this.attributes.get(tally));
  }

  streamEnded(tally: StreamTally, reason: SseCloseReason, seconds: number): void {
    if (!this.instruments) return;
    const attributes = this.attributes.get(tally);
    this.instruments.activeStreams.add(-1, attributes);
    this.instruments.streamDuration.record(seconds, { ...attributes, 'sse.close_reason': reason });
  }

  slowConsumer(tally: StreamTally, policy: SlowConsumerPolicy): void {
    this.instruments?.slowConsumers.add(1, { 'sse.slow_consumer.policy': policy });
    const what =
      policy === 'close'
        ? 'was closed: it reconnects and replays what it missed'
        : 'skips events until its socket drains, then gets a resync saying how many it missed';
    this.logger.warn(
      `slow-consumer:${tally.label}:${policy}`,
      `A stream of ${tally.label || 'an SSE route'} left more than its maxPendingBytes unread (a slow consumer) and ${what}. ` +
        'If its clients are slow but alive, raise maxPendingBytes or choose the other slowConsumer policy.',
    );
  }

  streamRejected(reason: SseRejectReason): void {
    this.rejected[reason]++;
    this.instruments?.rejected(reason);
  }

  broadcastPublished(): void {
    this.broadcasts++;
    this.instruments?.broadcasts.add(1);
  }

  replayed(status: SseReplayStatus): void {
    if (status === 'none') return;
    this.replays[status]++;
    this.instruments?.replayed(status);
  }

  runStarted(): void {
    this.runs.active++;
    this.instruments?.activeRuns.add(1);
  }

  runEnded(status: 'completed' | 'failed' | 'aborted'): void {
    this.runs.active--;
    this.runs.finished[status]++;
    this.instruments?.activeRuns.add(-1);
    this.instruments?.finishedRuns.add(1, { 'sse.run.status': status });
  }

  /** A hub message published at `publishedAt` (ms since the epoch, on any instance) was just written here. */
  delivered(publishedAt: number): void {
    this.instruments?.deliveryLag.record(Math.max(0, Date.now() - publishedAt) / 1000);
  }
}
