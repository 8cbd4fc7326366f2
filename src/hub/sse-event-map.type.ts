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

/** Whether `T` is `any`: an untyped hub takes and hands out anything. */
type IsAny<T> = 0 extends 1 & T ? true : false;

/** Whether `T` names no events of its own (`SseEventMap` itself, as Nest's `app.get(SseHub)` infers it). */
type IsUntyped<T> = IsAny<T> extends true ? true : string extends keyof T ? true : false;

/**
 * One event of an event map as the hub carries it: `{ event, data }` (plus the optional
 * `retry` or `comment`), the value given to `broadcast` and handed to `onMessage`. For an
 * untyped hub (`SseHub` without a map), any value.
 *
 * @publicApi
 */
export type SseEventOf<TEvents extends SseEventMap = any> =
  IsUntyped<TEvents> extends true
    ? any
    : {
        [K in keyof TEvents & string]: { event: K; data: TEvents[K]; retry?: number; comment?: string };
      }[keyof TEvents & string];
