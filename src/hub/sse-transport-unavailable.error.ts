import { ServiceUnavailableException } from '@nestjs/common';

/** Seconds an HTTP client is told to wait (`Retry-After`) when a route fails with this error. */
export const TRANSPORT_RETRY_AFTER_SECONDS = 5;

/**
 * The transport could not take a message (its server, Redis or PostgreSQL, is
 * unreachable): it was not published, unless the connection broke after the server took
 * it (see `idempotencyKey` for retries that cannot publish twice). Retry once the server
 * is back; the hub keeps serving the clients it has.
 *
 * A route that lets it escape (`return this.hub.broadcast(...)`) answers 503 with
 * `Retry-After`, as Nest answers any `HttpException`: the body says to retry, and names
 * no server (the message, for logs, does).
 *
 * @publicApi
 */
export class SseTransportUnavailableError extends ServiceUnavailableException {
  /** Its class name, as logs and stack traces show it. */
  override readonly name = 'SseTransportUnavailableError';
  /** Seconds to wait before retrying, sent as `Retry-After`. */
  readonly retryAfter = TRANSPORT_RETRY_AFTER_SECONDS;

  constructor(
    /** The server's address, without secrets (`redis://user@host:6379`). */
    readonly where: string,
    /** The error the server's client gave. */
    override readonly cause: unknown,
    /** What is unreachable, as people call it: `Redis`, `PostgreSQL`. */
    readonly server = 'Redis',
  ) {
    super('Events cannot be published right now: retry later.', {
      cause,
      description: 'Service Unavailable',
    });
    this.message = `${server} at ${where} is not reachable (${(cause as Error)?.message ?? String(cause)}): nothing was sent. Retry once ${server} is back.`;
  }
}
