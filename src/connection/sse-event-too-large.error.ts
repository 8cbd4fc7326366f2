/**
 * Thrown (or returned by `send`) when an encoded event is larger than `maxEventBytes`.
 * Nothing is sent. Send less per event, or raise the limit.
 *
 * @publicApi
 */
export class SseEventTooLargeError extends Error {
  override readonly name = 'SseEventTooLargeError';

  constructor(
    readonly bytes: number,
    readonly maxEventBytes: number,
  ) {
    super(`This SSE event is ${bytes} bytes encoded, over the limit of ${maxEventBytes} (maxEventBytes). Send less per event (e.g. an id to fetch), or raise maxEventBytes.`);
  }
}
