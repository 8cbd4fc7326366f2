import { SseEncodeError } from './sse-encode.error';
import { type SseEvent } from './sse-event.interface';

// The only line terminators of the event stream format; U+2028 and friends are plain text.
const LINE_BREAK = /\r\n|\r|\n/;
const CR_OR_LF = /[\r\n]/;

function prefixLines(field: string, text: string): string {
  // Hot path: most values are one line.
  if (!CR_OR_LF.test(text)) return `${field}: ${text}\n`;
  let out = '';
  for (const line of text.split(LINE_BREAK)) out += `${field}: ${line}\n`;
  return out;
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
 * would misread; nothing is returned in that case.
 *
 * @publicApi
 */
export function encodeEvent(event: SseEvent): string {
  let out = event.comment === undefined ? '' : encodeCommentLines(event.comment);
  if (event.event !== undefined) {
    assertSingleLine('event', event.event);
    out += `event: ${event.event}\n`;
  }
  if (event.id !== undefined) {
    assertSingleLine('id', event.id);
    if (event.id.includes('\0')) {
      throw new SseEncodeError('id', 'SSE field "id" cannot contain NUL: clients ignore such an id. Use another id.');
    }
    out += `id: ${event.id}\n`;
  }
  if (event.retry !== undefined) {
    assertRetry(event.retry);
    out += `retry: ${event.retry}\n`;
  }
  if (event.data !== undefined) out += prefixLines('data', event.data);
  return `${out}\n`;
}

// A comment line is a field with an empty name: `: text`.
function encodeCommentLines(text: string): string {
  return prefixLines('', text);
}

/**
 * Encodes a comment: one `:` line per line of `text`, then a blank line. Clients ignore
 * it; it keeps proxies and load balancers from closing an idle stream.
 *
 * @publicApi
 */
export function encodeComment(text: string): string {
  return `${encodeCommentLines(text)}\n`;
}

/** Encodes a lone `retry` field, sent at the start of a stream or before a shutdown. */
export function encodeRetry(retry: number): string {
  assertRetry(retry);
  return `retry: ${retry}\n\n`;
}
