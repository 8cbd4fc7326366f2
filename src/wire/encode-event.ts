import { exceedsBytes } from './byte-size';
import { SseEncodeError } from './sse-encode.error';
import { type SseEvent } from './sse-event.interface';
import { SseEventTooLargeError } from './sse-event-too-large.error';

// The only line terminators of the event stream format; U+2028 and friends are plain text.
const LINE_BREAKS = /\r\n|\r|\n/g;
const CR_OR_LF = /[\r\n]/;

/**
 * `text` as `field:` lines, to follow `used` bytes of an event of at most `maxBytes`
 * (and its final blank line). Under a finite limit the lines are counted first, and the
 * count stops as soon as they cannot fit: text with millions of line breaks is refused
 * after work bounded by the limit, not by the text.
 */
function prefixLines(field: string, text: string, maxBytes = Infinity, used = 0): string {
  const prefix = `${field}: `;
  // Hot path: most values are one line.
  if (!CR_OR_LF.test(text)) return `${prefix}${text}\n`;
  if (maxBytes !== Infinity) {
    // A string's UTF-8 bytes are at least its length; each line break becomes LF and a prefix.
    let size = used + prefix.length + text.length + 2;
    LINE_BREAKS.lastIndex = 0;
    for (let found = LINE_BREAKS.exec(text); found && size <= maxBytes; found = LINE_BREAKS.exec(text))
      size += prefix.length + 1 - found[0].length;
    if (size > maxBytes) throw new SseEventTooLargeError(size, maxBytes, true);
  }
  // One native replace: about twice as fast as splitting and joining line by line.
  return `${prefix}${text.replace(LINE_BREAKS, `\n${prefix}`)}\n`;
}

function tooLarge(encoded: string, maxBytes: number): SseEventTooLargeError | undefined {
  return exceedsBytes(encoded, maxBytes)
    ? new SseEventTooLargeError(Buffer.byteLength(encoded), maxBytes)
    : undefined;
}

function assertSingleLine(field: 'event' | 'id', value: string): void {
  if (CR_OR_LF.test(value)) {
    throw new SseEncodeError(
      field,
      `SSE field "${field}" cannot contain a line break (CR or LF): the client would read the rest as another field. Remove the line break from ${JSON.stringify(value)}.`,
    );
  }
}

/** Checks a `retry` value: the client only accepts ASCII digits. */
export function assertRetry(retry: unknown): asserts retry is number {
  if (typeof retry !== 'number' || !Number.isSafeInteger(retry) || retry < 0) {
    throw new SseEncodeError(
      'retry',
      `SSE field "retry" must be a non-negative integer number of milliseconds, got ${String(retry)}.`,
    );
  }
}

/**
 * Encodes one event in the `text/event-stream` format, ending with the blank line that
 * makes the client dispatch it. Throws {@link SseEncodeError} for a field a client
 * would misread, and {@link SseEventTooLargeError} when it would take more than
 * `maxBytes` (checked before the costly part, so an oversized event is cheap to refuse);
 * nothing is returned in those cases.
 *
 * @publicApi
 */
export function encodeEvent(event: SseEvent, maxBytes = Infinity): string {
  const { head, tail } = encodeEventParts(event, maxBytes);
  return event.id === undefined ? head + tail : head + encodeId(event.id) + tail;
}

/**
 * An event encoded in two parts, for an `id` given later (the hub's, once the transport
 * has ordered the event): the event is `head + 'id: ' + id + LF + tail`, in the field order
 * of `encodeEvent`. `event.id` itself is left out, but must fit under `maxBytes` with the
 * rest; without one, `idAllowance` bytes are kept for the id line to come.
 */
export function encodeEventParts(
  event: SseEvent,
  maxBytes = Infinity,
  idAllowance = 0,
): { head: string; tail: string } {
  let head = event.comment === undefined ? '' : encodeCommentLines(event.comment, maxBytes);
  if (event.event !== undefined) {
    assertSingleLine('event', event.event);
    head += `event: ${event.event}\n`;
  }
  const idBytes = event.id === undefined ? idAllowance : encodeId(event.id).length;
  let tail = '';
  if (event.retry !== undefined) {
    assertRetry(event.retry);
    tail += `retry: ${event.retry}\n`;
  }
  if (event.data !== undefined)
    tail += prefixLines('data', event.data, maxBytes, head.length + idBytes + tail.length);
  tail += '\n';
  if (maxBytes !== Infinity) {
    const error = tooLarge(head + tail, maxBytes - idBytes);
    if (error) throw new SseEventTooLargeError(error.bytes + idBytes, maxBytes);
  }
  return { head, tail };
}

/** The `id:` line, refused if a client would misread it. */
export function encodeId(id: string): string {
  assertSingleLine('id', id);
  if (id.includes('\0')) {
    throw new SseEncodeError(
      'id',
      'SSE field "id" cannot contain NUL: clients ignore such an id. Use another id.',
    );
  }
  return `id: ${id}\n`;
}

// A comment line is a field with an empty name: `: text`.
function encodeCommentLines(text: string, maxBytes = Infinity): string {
  return prefixLines('', text, maxBytes);
}

/**
 * Encodes a comment: one `:` line per line of `text`, then a blank line. Clients ignore
 * it; it keeps proxies and load balancers from closing an idle stream.
 *
 * @publicApi
 */
export function encodeComment(text: string, maxBytes = Infinity): string {
  const out = `${encodeCommentLines(text, maxBytes)}\n`;
  const error = maxBytes === Infinity ? undefined : tooLarge(out, maxBytes);
  if (error) throw error;
  return out;
}

/** Encodes a lone `retry` field, sent at the start of a stream or before a shutdown. */
export function encodeRetry(retry: number): string {
  assertRetry(retry);
  return `retry: ${retry}\n\n`;
}
