import { type RequestMethod } from '@nestjs/common';
import { type SseClient } from '../connection';
import { type SseResumableOptions } from './sse-resumable-options.interface';
import { type SseStreamOptions } from './sse-stream-options.interface';

/**
 * The channels a stream joins when it opens: one channel name, a list of them, or a
 * function of the request (Express `Request` / Fastify `FastifyRequest`), maybe async,
 * that gives either. A string is always one channel, never a list of characters.
 *
 * @publicApi
 */
export type SseChannels<TRequest = any> =
  | string
  | readonly string[]
  | ((request: TRequest) => string | Iterable<string> | Promise<string | Iterable<string>>);

/**
 * Options of `@SseRoute()`; they override the module's.
 *
 * @publicApi
 */
export interface SseRouteOptions<TRequest = any> extends SseStreamOptions {
  /** The HTTP method of the route: GET by default; POST for clients that open streams with a body (Datastar). */
  method?: RequestMethod;
  /** Channels the stream joins before its first event. */
  channels?: SseChannels<TRequest>;
  /**
   * Refuse (406) a request whose `Accept` header does not allow `text/event-stream`. Off
   * by default: browsers send it, but curl and many HTTP clients do not.
   */
  strictAccept?: boolean;
  /**
   * What `SseHub.presence()` lists for each stream of this route, e.g. the user id of the
   * request: called once the stream has joined its channels, before `onJoin` (it may be
   * async; a throw is the stream's HTTP error, as for `channels`). Keep it small: on
   * Redis it is stored for every stream.
   */
  presence?: (client: SseClient<TRequest>) => unknown;
  /**
   * Members of this route's channels get a `join` event when one of its streams joins a
   * channel (once set up) and a `leave` event when it leaves or ends, with data
   * `{ channel, id, info }` (`info` from `presence`), on every instance. Off by default.
   */
  presenceEvents?: boolean;
  /**
   * Makes the route a resumable run (see `SseResumableOptions`): the handler (given
   * `@SseRunSignal()`) produces the run of the request's key once, and every request for
   * that key, on any instance, reads it, resuming after its `Last-Event-ID`. A resumable
   * route joins no channels: its event ids are the run's.
   */
  resumable?: SseResumableOptions<TRequest>;
}
