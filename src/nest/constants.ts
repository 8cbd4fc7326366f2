/** Route metadata: the `SseRouteOptions` given to `@SseRoute()`. */
export const SSE_ROUTE_OPTIONS = 'nestjs-sse-hub:route-options';
/** Request and response property: the `SseClient` of this request, for `@ConnectedClient()` and the handler wrapper. */
export const SSE_CLIENT = Symbol('nestjs-sse-hub:client');
/** Response property: what the handler returned and on which controller, for the interceptor. */
export const SSE_HANDLER_CALL = Symbol('nestjs-sse-hub:handler-call');
/** Default milliseconds of silence before a keepalive comment. */
export const DEFAULT_KEEP_ALIVE = 15_000;
/** Default name of the event that tells a reconnecting client it missed events that are gone. */
export const DEFAULT_RESYNC_EVENT = 'resync';
/** Default range of the jittered `retry` sent on shutdown, in ms. */
export const DEFAULT_SHUTDOWN_RETRY = { min: 1000, max: 5000 };
