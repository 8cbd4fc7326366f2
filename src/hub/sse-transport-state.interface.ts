/**
 * Whether a transport carries hub messages right now (connected, and reading), and if
 * not, why: what `sse.transport.up`, `SseHub.stats()` and the health check report.
 *
 * @publicApi
 */
export interface SseTransportState {
  /** Whether messages get through now. */
  up: boolean;
  /** Why it is down, in words that say what to look at. */
  reason?: string;
}
