/**
 * Options of the hub, given by `SseModule`.
 *
 * @publicApi
 */
export interface SseHubOptions {
  /** The largest encoded event `broadcast` and `sendTo` accept (default: no limit). */
  maxEventBytes?: number;
}

/** Injection token of the hub's options. */
export const SSE_HUB_OPTIONS = Symbol('SSE_HUB_OPTIONS');
