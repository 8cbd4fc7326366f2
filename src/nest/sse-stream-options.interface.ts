import type { OutgoingHttpHeaders } from 'node:http';

/**
 * What a stream is set up with; given to `SseModule.forRoot()` for every route and to
 * `@SseRoute()` for one.
 *
 * @publicApi
 */
export interface SseStreamOptions {
  /** Milliseconds of silence before a `: keepalive` comment (default 15000); `false` disables it. */
  keepAlive?: number | false;
  /** Sent once as `retry:` at the start of each stream: the client's reconnection delay in ms. */
  retry?: number;
  /** Extra response headers for every stream (the event-stream headers themselves cannot be overridden). */
  headers?: OutgoingHttpHeaders;
  /**
   * The event a reconnecting client gets first when what it missed cannot be replayed
   * (its `Last-Event-ID` is too old, unknown or not ours); data `{ "lastEventId": … }`.
   * Default `resync`.
   */
  resyncEvent?: string;
}
