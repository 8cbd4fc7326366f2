import { type SseMetricsOptions } from './sse-metrics-options.interface';

/**
 * Options of the hub, given by `SseModule`.
 *
 * @publicApi
 */
export interface SseHubOptions {
  /** The largest encoded event `broadcast` and `sendTo` accept (default: no limit). */
  maxEventBytes?: number;
  /** The application's limit of open streams, reported by `stats()`. */
  maxConnections?: number;
  /** Where metrics go (OpenTelemetry's global meter provider by default), or `false` for none. */
  metrics?: SseMetricsOptions | false;
}

/** Injection token of the hub's options. */
export const SSE_HUB_OPTIONS = Symbol('SSE_HUB_OPTIONS');
