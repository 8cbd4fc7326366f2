/**
 * The events a hub carries, declared once: event name → the type of its data, in the
 * style of Socket.IO's typed events. Type `SseHub<Events>` and `SseGateway<Events>` with
 * it, and what is broadcast and what `onMessage` receives are checked against it.
 *
 * @example
 * ```ts
 * interface RoomEvents { message: ChatMessage; presence: { count: number } }
 * ```
 * @publicApi
 */
export type SseEventMap = Record<string, any>;

/**
 * One event of an event map as the hub carries it: `{ event, data }` (plus the optional
 * `retry` or `comment`), the value given to `broadcast` and handed to `onMessage`. For an
 * untyped hub (`SseHub` without a map), any value.
 *
 * @publicApi
 */
export type SseEventOf<TEvents extends SseEventMap = any> =
  // Untyped: `TEvents` is `any`, or names no events of its own (`SseEventMap` itself, as
  // Nest's `app.get(SseHub)` infers it). Inline, so the public type names no private helper.
  0 extends 1 & TEvents
    ? any
    : string extends keyof TEvents
      ? any
      : {
          [K in keyof TEvents & string]: {
            /** The event's name, a key of the map. */
            event: K;
            /** Its data, of the type the map gives that name. */
            data: TEvents[K];
            /** A `retry:` field sent with it: the client's reconnection delay, in ms. */
            retry?: number;
            /** A comment line sent with it (clients ignore it). */
            comment?: string;
          };
        }[keyof TEvents & string];
