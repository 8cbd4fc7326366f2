import type { OutgoingHttpHeaders } from 'node:http';
import { type SseKeepRequest, type SlowConsumerPolicy } from '../connection';

/**
 * At most `limit` open streams per `key` of the request (an IP address, a tenant), or per
 * user (`key: 'user'`: the route's `user` option); a request whose key is `undefined` is
 * not counted. Counted on each instance. Past it: 429 with `Retry-After`.
 *
 * @publicApi
 */
export interface SseConnectionsPer<TRequest = any> {
  /**
   * What streams are counted by: `'user'`, the stream's user (`SseClient.user`), or a
   * function of the request (`(req) => req.ip`); `undefined` is not counted.
   */
  key: 'user' | ((request: TRequest) => string | undefined);
  /** The most open streams one key may have. */
  limit: number;
}

/**
 * What a stream is set up with; given to `SseModule.forRoot()` for every route and to
 * `@SseRoute()` for one.
 *
 * @publicApi
 */
export interface SseStreamOptions {
  /** Milliseconds of silence before a `: keepalive` comment (default 15000); `false` disables it. */
  keepAlive?: number | false;
  /** Sent once as `retry:` at the start of each stream: the client's reconnection delay in ms. */
  retry?: number;
  /** Extra response headers for every stream (the event-stream headers themselves cannot be overridden). */
  headers?: OutgoingHttpHeaders;
  /**
   * The event a reconnecting client gets first when what it missed cannot be replayed
   * (its `Last-Event-ID` is too old, unknown or not ours); data `{ "lastEventId": … }`.
   * Default `resync`.
   */
  resyncEvent?: string;
  /**
   * Replay on reconnect: `false` replays nothing; `{ limit }` replays at most `limit`
   * missed events (more count as a gap: the client gets a resync). Default: every missed
   * event the history still holds.
   */
  replay?:
    | {
        /** The most missed events replayed; more count as a gap. */
        limit?: number;
      }
    | false;
  /** Bytes a client may leave unread before it counts as slow (default 1 MiB). */
  maxPendingBytes?: number;
  /** What happens to a slow client: `close` (default; it reconnects and replays) or `drop`. */
  slowConsumer?: SlowConsumerPolicy;
  /** The largest encoded event that may be sent; larger ones are refused with `SseEventTooLargeError`. */
  maxEventBytes?: number;
  /** At most `limit` open streams per user (`key: 'user'`) or per `key` of the request; past it, 429 with `Retry-After`. */
  maxConnectionsPer?: SseConnectionsPer;
  /**
   * Whose stream it is: the user id of the request (`(req) => req.user?.id`, after the
   * app's guard), maybe async; `undefined` (or `null`) for none. `SseClient.user` has it; the hub sends
   * to a user's streams (`broadcast(value, { users })`), ends them (`closeUser`) and lists
   * them (`presence({ user })`) by it. An integer id (a number or a `bigint`) is taken as
   * its decimal string. Any other value that is not a non-empty string fails the request
   * with `SseUserIdError` (500); a throw is the request's HTTP error (a 401 from
   * `UnauthorizedException`).
   */
  user?: (request: any) => string | undefined | Promise<string | undefined>;
  /**
   * What `client.request` keeps once the stream has started. By default a plain object
   * with the request's `method`, `url`, `originalUrl`, `headers`, `params`, `query` and
   * `user` (those it has), so that the framework's request and response, and Node's, need
   * not live as long as the stream (docs/benchmark.md: several KiB per stream). A list of
   * names keeps those properties instead (e.g. add `'ip'`); `'all'` keeps the framework's
   * request object itself, as it is during setup.
   */
  keepRequest?: SseKeepRequest;
}
