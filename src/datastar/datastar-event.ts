import { type SseEvent } from '../wire';
import { type DatastarEventOptions } from './datastar-options.interface';

/** Datastar's event types. */
export const PATCH_ELEMENTS = 'datastar-patch-elements';
export const PATCH_SIGNALS = 'datastar-patch-signals';

/** The client's default reconnection delay: a `retry` of this value is not sent. */
export const DEFAULT_RETRY_DURATION = 1000;

/**
 * An ordinary event of `type` whose data lines are `lines` (each a `<key> <value>` of the
 * ADR): `encodeEvent` writes `event`, `id`, `retry`, then one `data:` field per line.
 */
export function datastarEvent(
  type: string,
  lines: string[],
  { eventId, retryDuration }: DatastarEventOptions,
): SseEvent {
  const event: SseEvent = { event: type, data: lines.join('\n') };
  if (eventId !== undefined) event.id = eventId;
  if (retryDuration !== undefined && retryDuration !== DEFAULT_RETRY_DURATION) event.retry = retryDuration;
  return event;
}

/** `<key> <line>` for every line of `text` (CRLF, CR and LF all break lines, as in SSE). */
export function prefixed(key: string, text: string): string[] {
  return text.split(/\r\n|\r|\n/).map((line) => `${key} ${line}`);
}
