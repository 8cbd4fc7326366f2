/** Route metadata: the `SseRouteOptions` given to `@SseRoute()`. */
export const SSE_ROUTE_OPTIONS = 'nestjs-sse-hub:route-options';
/** Request and response property: the `SseClient` of this request, for `@ConnectedClient()` and the handler wrapper. */
export const SSE_CLIENT = Symbol('nestjs-sse-hub:client');
/** Response property: what the handler returned and on which controller, for the interceptor. */
export const SSE_HANDLER_CALL = Symbol('nestjs-sse-hub:handler-call');
