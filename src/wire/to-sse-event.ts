import { SseEncodeError } from './sse-encode.error';
import { type SseEvent } from './sse-event.interface';

// `type` is the field name of NestJS's `MessageEvent`, so `@Sse()` handlers work unchanged.
const EVENT_KEYS = new Set(['event', 'type', 'data', 'id', 'retry', 'comment']);

function isEventShaped(value: object): value is Record<string, unknown> {
  if (Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (keys.length === 0) return false;
  for (const key of keys) if (!EVENT_KEYS.has(key)) return false;
  const record = value as Record<string, unknown>;
  return record.data !== undefined || record.comment !== undefined;
}

function toJson(value: unknown, field: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new SseEncodeError(
      field,
      `SSE "${field}" could not be serialised to JSON (${(error as Error).message}). Send a string or a JSON-serialisable value.`,
    );
  }
  if (json === undefined) {
    throw new SseEncodeError(
      field,
      `SSE "${field}" of type ${typeof value} has no JSON form. Send a string or a JSON-serialisable value.`,
    );
  }
  return json;
}

function optionalString(
  record: Record<string, unknown>,
  key: 'event' | 'type' | 'id' | 'comment',
): string | undefined {
  const value = record[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (key === 'id' && typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new SseEncodeError(key, `SSE field "${key}" must be a string, got ${typeof value}.`);
}

/**
 * Turns what a handler, hook or broadcast gives into an event, as Francis' `format_event`
 * does: a string becomes `data:` lines; an object whose keys are all among
 * `event | type | data | id | retry | comment` and that has `data` or `comment` gives
 * those fields (non-string `data` as JSON); any other value becomes JSON `data:`.
 * `undefined` and `null` give `undefined`: nothing is sent.
 *
 * @publicApi
 */
export function toSseEvent(value: unknown): SseEvent | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return { data: value };
  if (typeof value !== 'object' || !isEventShaped(value)) return { data: toJson(value, 'data') };

  const event = optionalString(value, 'event');
  const type = optionalString(value, 'type');
  if (event !== undefined && type !== undefined && event !== type) {
    throw new SseEncodeError(
      'event',
      `An SSE event cannot have both "event" (${event}) and "type" (${type}). Use one of them.`,
    );
  }
  const result: SseEvent = {};
  const name = event ?? type;
  if (name !== undefined) result.event = name;
  const id = optionalString(value, 'id');
  if (id !== undefined) result.id = id;
  if (value.retry !== undefined && value.retry !== null) result.retry = value.retry as number;
  const comment = optionalString(value, 'comment');
  if (comment !== undefined) result.comment = comment;
  if (value.data !== undefined) {
    result.data = typeof value.data === 'string' ? value.data : toJson(value.data, 'data');
  }
  return result;
}
