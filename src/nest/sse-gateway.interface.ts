import { type SseClient, type SseCloseReason } from '../connection';
import { type SseEventMap, type SseEventOf } from '../hub';

/**
 * Lifecycle hooks of the streams of a controller's `@SseRoute()` methods; implement any
 * of them on the controller. A hook that throws is logged and the stream lives on,
 * except `onJoin`, which runs before anything is written: its error becomes the HTTP
 * response (an `HttpException`'s own status, 500 otherwise). Typed with the event map
 * of the hub (`SseGateway<RoomEvents>`), `onMessage` receives what is broadcast: the
 * whole `{ event, data }`, never the data alone.
 *
 * @publicApi
 */
export interface SseGateway<TEvents extends SseEventMap = any> {
  /**
   * Runs once per stream, after guards, pipes and the handler, before the handler's
   * first value. What it returns (a value, a Promise, an Observable) is sent first.
   */
  onJoin?(client: SseClient): unknown;
  /**
   * Runs for every hub message addressed to `client`: the value given to `broadcast` or
   * `sendTo`. Return it to send it as it is (encoded once for everybody), another value
   * to send that, or nothing. A property, not a method, so that its parameter is checked
   * strictly: a hook written for the data alone does not compile.
   */
  onMessage?: (message: SseEventOf<TEvents>, client: SseClient) => unknown;
  /** Runs exactly once per stream that reached the handler, with why it ended. */
  onClose?(client: SseClient, reason: SseCloseReason): unknown;
}
