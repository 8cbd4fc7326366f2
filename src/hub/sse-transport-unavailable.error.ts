/**
 * The transport could not take a message (its server, Redis or PostgreSQL, is
 * unreachable): it was not published, unless the connection broke after the server took
 * it (see `idempotencyKey` for retries that cannot publish twice). Retry once the server
 * is back; the hub keeps serving the clients it has.
 *
 * @publicApi
 */
export class SseTransportUnavailableError extends Error {
  override readonly name = 'SseTransportUnavailableError';

  constructor(
    readonly where: string,
    override readonly cause: unknown,
    /** What is unreachable, as people call it: `Redis`, `PostgreSQL`. */
    readonly server = 'Redis',
  ) {
    super(`${server} at ${where} is not reachable (${(cause as Error)?.message ?? String(cause)}): nothing was sent. Retry once ${server} is back.`);
  }
}
