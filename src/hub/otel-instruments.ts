import type {
  Attributes,
  BatchObservableCallback,
  Counter,
  Histogram,
  Meter,
  ObservableCallback,
  ObservableCounter,
  ObservableGauge,
  UpDownCounter,
} from '@opentelemetry/api';
import { type SseReplayStatus } from '../connection';
import { type SseRejectReason } from './sse-hub-stats.interface';
import { type SseTransportState } from './sse-transport-state.interface';

/** The name of the library's meter. */
export const METER_NAME = 'nestjs-sse-hub';

/** What the observable instruments read at each collection. */
export interface ObservedTotals {
  routes(): Iterable<{ attributes: Attributes; events: number; bytes: number }>;
  transport(): SseTransportState;
}

// A stream lasts seconds to days; a hub message arrives in milliseconds, or is late.
const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400];
const LAG_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The library's OpenTelemetry instruments, under their names of record. Attributes are
 * the route and small enumerations, never a channel or a client (unbounded cardinality).
 * What streams write is counted in plain numbers and read at collection time, hence the
 * asynchronous counters for events and bytes.
 */
export class OtelInstruments {
  readonly activeStreams: UpDownCounter;
  readonly streamDuration: Histogram;
  readonly rejectedStreams: Counter;
  readonly slowConsumers: Counter;
  readonly broadcasts: Counter;
  readonly replays: Counter;
  readonly deliveryLag: Histogram;
  readonly activeRuns: UpDownCounter;
  readonly finishedRuns: Counter;
  private readonly sent: ObservableCounter[];
  private readonly transportUp: ObservableGauge;
  private readonly observeSent: BatchObservableCallback;
  private readonly observeTransport: ObservableCallback;
  private readonly replayAttributes: Record<'complete' | 'gap', Attributes> = {
    complete: { 'sse.replay.status': 'complete' },
    gap: { 'sse.replay.status': 'gap' },
  };

  constructor(
    private readonly meter: Meter,
    totals: ObservedTotals,
  ) {
    this.activeStreams = meter.createUpDownCounter('sse.server.active_streams', {
      description: 'Event streams open now.',
      unit: '{stream}',
    });
    this.streamDuration = meter.createHistogram('sse.server.stream.duration', {
      description: 'How long event streams lasted, from their first byte to their end.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    const sentEvents = meter.createObservableCounter('sse.server.sent_events', {
      description: 'Events written to streams.',
      unit: '{event}',
    });
    const sentBytes = meter.createObservableCounter('sse.server.sent_bytes', {
      description: 'Bytes written to streams.',
      unit: 'By',
    });
    this.rejectedStreams = meter.createCounter('sse.server.rejected_streams', {
      description: 'Event streams refused before they started.',
      unit: '{stream}',
    });
    this.slowConsumers = meter.createCounter('sse.server.slow_consumers', {
      description: 'Streams that left more than maxPendingBytes unread, by what their policy did.',
      unit: '{stream}',
    });
    this.broadcasts = meter.createCounter('sse.hub.broadcasts', {
      description: 'Broadcasts published from this instance.',
      unit: '{broadcast}',
    });
    this.replays = meter.createCounter('sse.hub.replays', {
      description: 'Reconnections replayed in full (complete) or told to resync (gap).',
      unit: '{replay}',
    });
    this.deliveryLag = meter.createHistogram('sse.hub.delivery_lag', {
      description: 'From the publish of a hub message, on any instance, to its write on this one.',
      unit: 's',
      advice: { explicitBucketBoundaries: LAG_BUCKETS },
    });
    this.activeRuns = meter.createUpDownCounter('sse.runs.active', {
      description: 'Resumable runs this instance produces now.',
      unit: '{run}',
    });
    this.finishedRuns = meter.createCounter('sse.runs.finished', {
      description: 'Resumable runs this instance produced that ended, by status.',
      unit: '{run}',
    });
    this.transportUp = meter.createObservableGauge('sse.transport.up', {
      description: '1 while the hub transport carries messages, else 0.',
      unit: '1',
    });
    this.sent = [sentEvents, sentBytes];
    this.observeSent = (result) => {
      for (const route of totals.routes()) {
        result.observe(sentEvents, route.events, route.attributes);
        result.observe(sentBytes, route.bytes, route.attributes);
      }
    };
    this.observeTransport = (result) => result.observe(totals.transport().up ? 1 : 0);
    meter.addBatchObservableCallback(this.observeSent, this.sent);
    this.transportUp.addCallback(this.observeTransport);
  }

  /**
   * Stops observing this hub: the instruments belong to the meter, which outlives an
   * application closed and started again in the same process (tests do), and a closed
   * hub's totals must not be reported next to the new one's.
   */
  stop(): void {
    this.meter.removeBatchObservableCallback(this.observeSent, this.sent);
    this.transportUp.removeCallback(this.observeTransport);
  }

  rejected(reason: SseRejectReason): void {
    this.rejectedStreams.add(1, { 'sse.reject_reason': reason });
  }

  replayed(status: Exclude<SseReplayStatus, 'none'>): void {
    this.replays.add(1, this.replayAttributes[status]);
  }
}
