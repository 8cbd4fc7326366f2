/** What `@SseRoute()`'s wrapper records for the interceptor: the controller and the raw result. */
export interface SseHandlerCall {
  /** The controller instance the handler ran on: the route's `SseGateway`. */
  readonly gateway: object;
  /** What the handler returned, before Nest could flatten it. */
  readonly result: unknown;
}
