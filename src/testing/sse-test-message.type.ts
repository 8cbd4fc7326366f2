/** An event as a client dispatches it; `event` is absent when the server sent none (`message`). @publicApi */
export interface SseTestEvent {
  /** Tells an event from a comment or a `retry` in `SseTestMessage`. */
  type: 'event';
  /** The `event:` field, if the server sent one. */
  event?: string;
  /** The `id:` field, if the server sent one. */
  id?: string;
  /** The `data:` lines, joined with `\n` as `EventSource` joins them. */
  data: string;
}

/**
 * What a test stream receives, in order: events, comments (e.g. `keepalive`) and
 * `retry` fields.
 *
 * @publicApi
 */
export type SseTestMessage =
  | SseTestEvent
  | {
      /** A comment line (`: keepalive`). */
      type: 'comment';
      /** Its text, after the `:`. */
      comment: string;
    }
  | {
      /** A `retry:` field. */
      type: 'retry';
      /** The reconnection delay it sets, in ms. */
      retry: number;
    };
