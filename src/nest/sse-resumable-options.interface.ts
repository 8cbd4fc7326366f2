/**
 * Makes an `@SseRoute()` a resumable run: its handler produces the run of a key once,
 * across instances, whoever asks for it; every request for the key reads the run, from its
 * start or after its `Last-Event-ID`, and follows it live.
 *
 * @publicApi
 */
export interface SseResumableOptions<TRequest = any> {
  /**
   * The run's key, from the request (maybe async), e.g. `` (req) => `answer:${req.user.id}:${req.params.id}` ``.
   * A key is not a secret: the route's guards decide who reads it, so scope keys to what
   * they check. At most 1,024 bytes; NUL and lone surrogates are refused (400).
   */
  key: (request: TRequest) => string | Promise<string>;
  /**
   * Whether a request may start the run when there is none (default `true`: the handler
   * runs). `false`: the route only resumes; with no run, it answers `204 No Content`.
   */
  create?: boolean;
  /** How long, in ms, a finished run stays readable (default 10 minutes). */
  ttl?: number;
  /** The most events a run keeps (default 10,000): beyond, the oldest are trimmed, and a reader that missed them gets a resync. */
  maxEvents?: number;
  /** The most bytes of events a run keeps (default 1 MiB): beyond, the oldest are trimmed. */
  maxBytes?: number;
  /** The longest, in ms, a run may produce (default 1 hour): then its signal aborts and it fails. */
  maxDuration?: number;
}
