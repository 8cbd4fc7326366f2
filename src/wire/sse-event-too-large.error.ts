/**
 * Thrown (or returned by `send`) when an encoded event is larger than `maxEventBytes`.
 * Nothing is sent. Send less per event, or raise the limit. An event found too large
 * before it was fully encoded gives the size it had reached (`atLeast`).
 *
 * @publicApi
 */
export class SseEventTooLargeError extends Error {
  /** Its class name, as logs and stack traces show it. */
  override readonly name = 'SseEventTooLargeError';

  constructor(
    /** The event's size in bytes, encoded (or the size reached when `atLeast`). */
    readonly bytes: number,
    /** The limit it went over. */
    readonly maxEventBytes: number,
    /** Whether encoding stopped early, so the event is larger than `bytes`. */
    readonly atLeast = false,
  ) {
    super(
      `This SSE event is ${atLeast ? 'at least ' : ''}${bytes} bytes encoded, over the limit of ${maxEventBytes} (maxEventBytes). ` +
        'Send less per event (e.g. an id to fetch), or raise maxEventBytes.',
    );
  }
}
