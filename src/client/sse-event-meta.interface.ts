/**
 * What a listener gets besides the parsed data: the event as it came over the wire.
 *
 * @publicApi
 */
export interface SseEventMeta {
  /** The event's name: its `event:` field, or `'message'` when it has none. */
  event: string;
  /** The event's own `id:` field, or `undefined` when it carries none (see `stream.lastEventId`). */
  id: string | undefined;
  /** The raw `data:` text, before `JSON.parse`. */
  data: string;
}
