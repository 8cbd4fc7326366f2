import { type SseBroadcastMessage, type SseHubMessage } from './sse-hub-message.interface';
import { type SsePresenceStore } from './sse-presence-store.interface';
import { type SseHistoryResult } from './sse-replay.type';
import { type SseRunStore } from './sse-run-store.interface';
import { type SseTransportState } from './sse-transport-state.interface';

/**
 * Carries hub messages to every instance of the application, this one included, and
 * keeps the recent broadcasts for clients that reconnect. The default keeps them in
 * the process; another transport (Redis) spreads them out.
 *
 * @publicApi
 */
export interface SseTransport {
  /**
   * Sends `message` to every hub, giving a broadcast its `id` on the way; resolves once
   * it is on its way, rejects if it cannot be.
   */
  publish(message: SseHubMessage): Promise<void>;
  /** Called once by the hub with the function that delivers a message to its own clients. */
  subscribe(deliver: (message: SseHubMessage) => void): void | Promise<void>;
  /**
   * Every broadcast after `lastEventId`, oldest first, or a gap (the id is too old, or
   * unknown): never a part of them.
   *
   * With `each`, a transport that reads from a server hands the broadcasts to it one by
   * one as it reads them, a page at a time, and keeps none (its result then lists none):
   * a replay's memory is the hub's to bound, not the history's length. `each` returning
   * false stops the read, and the result is a gap. A transport may ignore `each` and list
   * them (the in-process one, whose history is in memory anyway).
   */
  history(
    lastEventId: string,
    each?: (message: SseBroadcastMessage) => boolean,
  ): SseHistoryResult | Promise<SseHistoryResult>;
  /**
   * Where the application's presence is kept, if the transport's server keeps it
   * (Redis, PostgreSQL); without one, `SseHub.presence()` lists this instance's streams.
   */
  readonly presenceStore?: SsePresenceStore;
  /**
   * Where the application's resumable runs are kept, if the transport's server keeps them
   * (Redis, PostgreSQL); without one, the hub keeps runs in this process (one instance).
   */
  readonly runStore?: SseRunStore;
  /**
   * Whether messages get through right now (for metrics, `stats()` and health checks);
   * a transport without it is always up (the in-process one).
   */
  state?(): SseTransportState;
  /** Releases connections when the application shuts down (after the presence store's `stop`). */
  close?(): void | Promise<void>;
}

/** Injection token of the hub's transport. */
export const SSE_TRANSPORT = Symbol('SSE_TRANSPORT');
