/**
 * Where a client stream is: `'connecting'` until a `200 text/event-stream` answer and
 * again while it waits to reconnect, `'open'` while it reads events, `'closed'` once it
 * stopped for good (`close()`, its signal aborted, or an answer it does not retry).
 *
 * @publicApi
 */
export type SseClientStatus = 'connecting' | 'open' | 'closed';
