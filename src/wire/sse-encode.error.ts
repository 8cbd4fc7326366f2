/**
 * Thrown when a value cannot be written as a Server-Sent Event without changing its
 * meaning on the client (a line break in `event` or `id`, a bad `retry`, data that
 * cannot be serialised to JSON). Nothing is written when it is thrown.
 *
 * @publicApi
 */
export class SseEncodeError extends Error {
  /** Its class name, as logs and stack traces show it. */
  override readonly name = 'SseEncodeError';

  constructor(
    /** The field that was refused (`event`, `id`, `retry`, `data`, `comment`). */
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
