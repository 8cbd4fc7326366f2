/** Route metadata: the `SseRouteOptions` given to `@SseRoute()`. */
export const SSE_ROUTE_OPTIONS = 'nestjs-sse-hub:route-options';
