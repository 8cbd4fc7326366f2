import { type SseClientError } from './sse-client-error.js';
import { type SseClientStatus } from './sse-client-status.type.js';
import { type SseEventMeta } from './sse-event-meta.interface.js';
import { type SseResyncData } from './sse-resync-data.interface.js';

/**
 * The events a client stream can listen to: the map's own, plus the built-in `resync`
 * (unless the map declares a `resync` of its own). Any name, with `any` data, for an
 * untyped client.
 *
 * @publicApi
 */
export type SseClientEvents<Events> = 0 extends 1 & Events
  ? Record<string, any>
  : string extends keyof Events
    ? Record<string, any>
    : 'resync' extends keyof Events
      ? Events
      : Events & {
          /** Sent by the server when some of what the client missed is gone: refetch the state. */
          resync: SseResyncData;
        };

/**
 * A listener of one event: its data (`JSON.parse` of the `data:` text, or the text itself
 * when it is not JSON) and the event as it came.
 *
 * @publicApi
 */
export type SseClientListener<Data> = (data: Data, meta: SseEventMeta) => void;

/**
 * One stream from `createSseClient`: it connects at once and reconnects by itself until
 * `close()`, its signal, or an answer that says to stop.
 *
 * @typeParam Events The event map shared with the server's `SseHub<Events>`.
 * @publicApi
 */
export interface SseClientStream<Events = Record<string, any>> {
  /** `'connecting'`, `'open'` or `'closed'` (see {@link SseClientStatus}). */
  readonly status: SseClientStatus;
  /** The id of the last event received (sent as `Last-Event-ID` on reconnect), if any. */
  readonly lastEventId: string | undefined;
  /**
   * Listens to one event by name (`'message'` for events without `event:`).
   *
   * @returns A function that removes the listener.
   */
  on<K extends keyof SseClientEvents<Events> & string>(
    event: K,
    listener: SseClientListener<SseClientEvents<Events>[K]>,
  ): () => void;
  /**
   * Listens to failures: a network error or 5xx (`willRetry: true`, the stream reconnects),
   * or an answer that stopped it (4xx, 204, a wrong Content-Type: `willRetry: false`).
   *
   * @returns A function that removes the listener.
   */
  onError(listener: (error: SseClientError) => void): () => void;
  /** Stops for good: aborts the request, cancels any reconnect; no `onError` follows. */
  close(): void;
}
