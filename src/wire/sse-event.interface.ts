/**
 * One event of a `text/event-stream`, field by field (WHATWG HTML §9.2).
 * `data` may hold line breaks (CR, LF or CRLF): each line becomes its own `data:` field.
 * `comment` is written as `:` lines before the fields and is ignored by clients.
 *
 * @publicApi
 */
export interface SseEvent {
  /** The event type; clients dispatch it under this name (`message` when absent). */
  event?: string;
  /** The payload; several lines become several `data:` fields. */
  data?: string;
  /** Sets the client's last event id, sent back as `Last-Event-ID` on reconnect. */
  id?: string;
  /** The reconnection delay the client should use, in milliseconds. */
  retry?: number;
  /** A comment: ignored by clients, useful to keep proxies from timing out. */
  comment?: string;
}
