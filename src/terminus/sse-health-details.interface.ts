/**
 * What `SseHealthIndicator` reports beside its status: the transport, and the streams
 * open on this instance against `maxConnections`.
 *
 * @publicApi
 */
export interface SseHealthDetails {
  /** The transport's class name: `InMemoryTransport`, `RedisStreamsTransport`. */
  transport: string;
  /** Streams open on this instance now. */
  streams: number;
  /** The most streams this instance takes, when `maxConnections` is set. */
  maxConnections?: number;
  /** Why the transport is down, in words that say what to look at; only when it is. */
  reason?: string;
}
