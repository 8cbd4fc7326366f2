import { SseHubMessage } from './sse-hub-message.interface';

/**
 * Carries hub messages to every instance of the application, this one included. The
 * default keeps them in the process; another transport (Redis) spreads them out.
 *
 * @publicApi
 */
export interface SseTransport {
  /** Sends `message` to every hub; resolves once it is on its way, rejects if it cannot be. */
  publish(message: SseHubMessage): Promise<void>;
  /** Called once by the hub with the function that delivers a message to its own clients. */
  subscribe(deliver: (message: SseHubMessage) => void): void | Promise<void>;
  /** Releases connections when the application shuts down. */
  close?(): void | Promise<void>;
}

/** Injection token of the hub's transport. */
export const SSE_TRANSPORT = Symbol('SSE_TRANSPORT');
