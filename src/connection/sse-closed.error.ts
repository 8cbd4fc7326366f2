/**
 * Thrown by `SseClient.sendEventOrThrow()` when the stream has already ended. Check
 * `client.closed` or use `sendEvent()`, which returns `{ ok: false }` instead.
 *
 * @publicApi
 */
export class SseClosedError extends Error {
  /** Its class name, as logs and stack traces show it. */
  override readonly name = 'SseClosedError';

  constructor(clientId: string) {
    super(
      `SSE client ${clientId} is closed: nothing more can be sent to it. Check client.closed before sending, or use sendEvent(), which returns { ok: false } instead of throwing.`,
    );
  }
}
