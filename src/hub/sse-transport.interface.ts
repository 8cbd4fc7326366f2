import { type SseHubMessage } from './sse-hub-message.interface';
import { type SseHistoryResult } from './sse-replay.type';

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
   */
  history(lastEventId: string): SseHistoryResult | Promise<SseHistoryResult>;
  /** Releases connections when the application shuts down. */
  close?(): void | Promise<void>;
}

/** Injection token of the hub's transport. */
export const SSE_TRANSPORT = Symbol('SSE_TRANSPORT');
