import { type SseCloseReason } from './sse-close-reason.type';
import { type SlowConsumerPolicy } from './slow-consumer-policy.type';

/** Told of what changes a tally's streams: their starts and ends, and slow consumers. */
export interface StreamTallyObserver {
  streamStarted(tally: StreamTally): void;
  /** A started stream ended, after `seconds`. */
  streamEnded(tally: StreamTally, reason: SseCloseReason, seconds: number): void;
  /** A stream had more than its `maxPendingBytes` unread: it was closed, or began to drop events. */
  slowConsumer(tally: StreamTally, policy: SlowConsumerPolicy): void;
}

/**
 * What a group of streams (one route's) has sent, counted in plain numbers that its
 * streams add to as they write: a write costs two additions, never a call into a metrics
 * library, which reads the totals when it collects. Starts, ends and slow consumers are
 * rare enough to be told to the observer as they happen.
 */
export class StreamTally {
  /** Streams started (headers written) and not yet ended. */
  open = 0;
  /** Events written: the hub's, the handler's, and resyncs; comments and keepalives are not events. */
  events = 0;
  /** Bytes handed to the streams' sockets. */
  bytes = 0;
  /** Slow consumers so far, by what their policy did: closed, or began to drop events. */
  readonly slow: Record<SlowConsumerPolicy, number> = { close: 0, drop: 0 };

  constructor(
    /** What the streams have in common, e.g. their route. */
    readonly label: string,
    private readonly observer?: StreamTallyObserver,
  ) {}

  started(): void {
    this.open++;
    this.observer?.streamStarted(this);
  }

  ended(reason: SseCloseReason, seconds: number): void {
    this.open--;
    this.observer?.streamEnded(this, reason, seconds);
  }

  slowConsumer(policy: SlowConsumerPolicy): void {
    this.slow[policy]++;
    this.observer?.slowConsumer(this, policy);
  }
}

/** The tally of streams made without one: counted, and read by nobody. */
export const UNTALLIED = new StreamTally('');
