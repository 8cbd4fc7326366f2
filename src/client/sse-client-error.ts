/**
 * Why a client stream failed, given to `stream.onError` listeners. `status` is set for an
 * HTTP answer (401, 404, 503...), `cause` for a network error; `willRetry` says whether
 * the stream reconnects by itself or has stopped for good.
 *
 * @publicApi
 */
export class SseClientError extends Error {
  /** Always `'SseClientError'`: tells it apart after a bundler renamed the class. */
  override readonly name = 'SseClientError';

  /**
   * @param message What went wrong and what to do.
   * @param willRetry Whether the stream reconnects by itself (`false`: it is closed).
   * @param status The HTTP status of the answer, when there was one.
   * @param cause The underlying error (a network error), when there was one.
   */
  constructor(
    message: string,
    /** Whether the stream reconnects by itself; `false` once it has stopped for good. */
    readonly willRetry: boolean,
    /** The HTTP status of the server's answer, when there was one. */
    readonly status?: number,
    /** The underlying error (a failed `fetch`, a reset connection), when there was one. */
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}
