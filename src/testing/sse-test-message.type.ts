/** An event as a client dispatches it; `event` is absent when the server sent none (`message`). */
export interface SseTestEvent {
  type: 'event';
  event?: string;
  id?: string;
  data: string;
}

/**
 * What a test stream receives, in order: events, comments (e.g. `keepalive`) and
 * `retry` fields.
 *
 * @publicApi
 */
export type SseTestMessage =
  SseTestEvent | { type: 'comment'; comment: string } | { type: 'retry'; retry: number };
