/**
 * Why a stream ended, as `SseGateway.onClose` sees it:
 * - `client-disconnected`: the client went away.
 * - `completed`: the handler's Observable or AsyncIterable completed.
 * - `server-closed`: `client.close()` or `SseHub.close(id)`.
 * - `error`: the handler, a setup step or the socket failed.
 * - `shutdown`: the application is closing.
 * - `slow-consumer`: the client did not read fast enough.
 *
 * @publicApi
 */
export type SseCloseReason =
  'client-disconnected' | 'completed' | 'server-closed' | 'error' | 'shutdown' | 'slow-consumer';
