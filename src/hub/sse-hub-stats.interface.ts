import { type SseTransportState } from './sse-transport-state.interface';

/** What the streams of one route have done, in `SseHub.stats()`. @publicApi */
export interface SseRouteStats {
  /** The route's path as the framework matched it (`/rooms/:room/events`), what metrics call `http.route`. */
  route: string;
  /** Streams open now. */
  streams: number;
  /** Events written since the application started. */
  events: number;
  /** Bytes written since the application started, as encoded on the wire. */
  bytes: number;
  /** Slow consumers since the application started (closed, or dropping events). */
  slowConsumers: number;
}

/** Why streams were refused before they started: `sse.reject_reason`. @publicApi */
export type SseRejectReason = 'max_connections' | 'max_connections_per' | 'not_acceptable' | 'shutting_down';

/**
 * A snapshot of this instance's hub, for apps without OpenTelemetry, health checks and
 * the dashboard. Counts are totals since the application started; compare two snapshots
 * for rates.
 *
 * @publicApi
 */
export interface SseHubStats {
  /** When the snapshot was taken (ms since the epoch). */
  time: number;
  /** Streams open on this instance. */
  streams: number;
  /** The most streams it takes (`maxConnections`), if limited. */
  maxConnections?: number;
  /** By route, busiest first. */
  routes: SseRouteStats[];
  /** Channels with at least one stream on this instance, and the busiest ten of them. */
  channels: {
    /** How many channels have a stream here. */
    count: number;
    /** The ten with the most streams, busiest first. */
    busiest: Array<{
      /** The channel's name. */
      channel: string;
      /** Its streams on this instance. */
      streams: number;
    }>;
  };
  /** Bytes written to streams and not yet taken by their sockets, against `maxTotalPendingBytes`. */
  pendingBytes: number;
  /** The most bytes held for all clients before the slowest are dealt with (`maxTotalPendingBytes`). */
  maxTotalPendingBytes?: number;
  /** Slow consumers by what their policy did: closed, or began to drop events. */
  slowConsumers: {
    /** Closed by the `'close'` policy. */
    close: number;
    /** Began to drop events under the `'drop'` policy. */
    drop: number;
  };
  /** Streams refused before they started, by reason. */
  rejected: Record<SseRejectReason, number>;
  /** Broadcasts published from this instance. */
  broadcasts: number;
  /** Reconnections that were replayed in full (`complete`) or told to resync (`gap`). */
  replays: {
    /** Got every event they missed. */
    complete: number;
    /** Missed events that were gone, so got a `resync`. */
    gap: number;
  };
  /** Resumable runs: those this instance produces, and its clients that read runs. */
  runs: {
    /** Runs this instance produces now. */
    active: number;
    /** Runs this instance produced that ended, by status. */
    finished: {
      /** Their producer finished. */
      completed: number;
      /** Their producer threw, overran maxDuration, or this instance shut down. */
      failed: number;
      /** Ended by `SseHub.abortRun`. */
      aborted: number;
    };
    /** Streams of this instance that read a run (on any instance). */
    readers: number;
    /** The runs this instance produces now, oldest first. */
    running: Array<{
      /** The run's key. */
      key: string;
      /** Events it has produced so far. */
      events: number;
      /** When it started (ms since the epoch). */
      startedAt: number;
      /** Streams of this instance that read it. */
      readers: number;
    }>;
  };
  /** The transport's name and state. */
  transport: SseTransportState & {
    /** The transport's class name (`RedisStreamsTransport`). */
    name: string;
  };
}
