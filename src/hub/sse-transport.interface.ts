import { type SseHubMessage } from './sse-hub-message.interface';
import { type SseHistoryOptions, type SseHistoryResult } from './sse-replay.type';

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
   * Every broadcast after `lastEventId`, oldest first, or a gap: never a part of them. A
   * gap when the id is too old, unknown, or more than `limit` broadcasts back (the
   * transport may stop reading there).
   */
  history(lastEventId: string, options?: SseHistoryOptions): SseHistoryResult | Promise<SseHistoryResult>;
  /** Releases connections when the application shuts down. */
  close?(): void | Promise<void>;
}

/** Injection token of the hub's transport. */
export const SSE_TRANSPORT = Symbol('SSE_TRANSPORT');
