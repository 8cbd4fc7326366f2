/**
 * What `SseClient.send()` and `sendEvent()` return: `ok` when the event was written,
 * otherwise the reason it was not (`SseClosedError`, `SseEncodeError`).
 *
 * @publicApi
 */
export type SseSendResult = { ok: true } | { ok: false; error: Error };
