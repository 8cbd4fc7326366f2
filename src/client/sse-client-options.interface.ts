/**
 * How `createSseClient` connects. Everything is optional: by default a `GET` with
 * `Accept: text/event-stream`, reconnecting after 1 s (or the server's `retry:`).
 *
 * @publicApi
 */
export interface SseClientOptions {
  /**
   * Request headers (e.g. `{ authorization: \`Bearer ${token}\` }`), or a function that
   * returns them, called before every attempt, so that a refreshed token is used on the
   * next reconnect. `Accept` and `Last-Event-ID` are set by the client.
   */
  headers?: RequestInit['headers'] | (() => RequestInit['headers'] | Promise<RequestInit['headers']>);
  /** The HTTP method, `'GET'` by default (`'POST'` with a `body` for routes that take one). */
  method?: string;
  /** The request body, sent again on every attempt: a string, `FormData`, `URLSearchParams`, not a stream. */
  body?: RequestInit['body'];
  /** `fetch`'s `credentials` (`'include'` to send cookies to another origin). */
  credentials?: RequestInit['credentials'];
  /** The `fetch` to use (a wrapper, a test double, undici's), instead of `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Aborting it closes the stream for good, as `close()` does. */
  signal?: AbortSignal;
  /** The `Last-Event-ID` to send on the first request, to resume from a stored position. */
  lastEventId?: string;
  /** The reconnection delay until the server sends its own `retry:`, in ms (default 1000). */
  retry?: number;
  /** The most the back-off after consecutive failed attempts grows to, in ms (default 30 000). */
  maxRetryDelay?: number;
}
