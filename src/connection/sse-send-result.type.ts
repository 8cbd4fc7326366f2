/**
 * What `SseClient.send()` and `sendEvent()` return: `ok` when the event was written,
 * otherwise the reason it was not (`SseClosedError`, `SseEncodeError`).
 *
 * @publicApi
 */
export type SseSendResult =
  | {
      /** The event was written. */
      ok: true;
    }
  | {
      /** Nothing was written. */
      ok: false;
      /** Why: `SseClosedError`, `SseEncodeError` or `SseEventTooLargeError`. */
      error: Error;
    };
