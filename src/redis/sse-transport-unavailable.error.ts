/**
 * The transport could not take a message (Redis is unreachable): nothing was sent, to
 * any instance. Retry once it is back; the hub keeps serving the clients it has.
 *
 * @publicApi
 */
export class SseTransportUnavailableError extends Error {
  override readonly name = 'SseTransportUnavailableError';

  constructor(
    readonly where: string,
    override readonly cause: unknown,
  ) {
    super(`Redis at ${where} is not reachable (${(cause as Error)?.message ?? String(cause)}): nothing was sent. Retry once Redis is back.`);
  }
}
