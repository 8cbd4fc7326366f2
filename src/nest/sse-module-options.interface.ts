import { type SseMetricsOptions, type SseTransport } from '../hub';
import { type SseStreamOptions } from './sse-stream-options.interface';

/**
 * Options of `SseModule.forRoot()`.
 *
 * @publicApi
 */
export interface SseModuleOptions extends SseStreamOptions {
  /** How hub messages reach every instance; in-process by default. */
  transport?: SseTransport;
  /**
   * How many recent broadcasts the in-process transport keeps for replay (default 1000;
   * memory is bounded by `size` alone). Only for it: another transport keeps its own
   * history (e.g. `maxLen`), and giving both fails at start-up. To replay nothing, `replay: false`.
   */
  history?: {
    /** Broadcasts kept (default 1000). */
    size?: number;
  };
  /**
   * On shutdown each stream gets a last `retry:` drawn between `min` and `max` ms, so that
   * thousands of clients do not reconnect in the same millisecond (default 1000–5000);
   * `false` sends none.
   */
  shutdownRetry?:
    | {
        /** The shortest delay, in ms. */
        min: number;
        /** The longest delay, in ms. */
        max: number;
      }
    | false;
  /** At most this many open streams in the whole application; past it, 503 with `Retry-After`. */
  maxConnections?: number;
  /**
   * The most bytes held, across all streams, for clients that have not read them yet
   * (queued, batched, in socket buffers, or held while a replay is read). Past it the
   * slowest streams are dealt with by their `slowConsumer` policy until the total is
   * back under 90 %. Default: a quarter of the memory the process may use, at most half
   * of V8's heap limit.
   */
  maxTotalPendingBytes?: number;
  /**
   * OpenTelemetry metrics: to the global `MeterProvider` by default (recorded once an SDK
   * registers one, before the app starts), to `{ meterProvider }`, or `false` for none.
   */
  metrics?: SseMetricsOptions | false;
}
