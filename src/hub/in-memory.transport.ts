import { SseHubMessage } from './sse-hub-message.interface';
import { SseTransport } from './sse-transport.interface';

/**
 * The default transport: a message goes straight to this process's hub, synchronously,
 * so a broadcast has reached every local client when `publish` returns.
 *
 * @publicApi
 */
export class InMemoryTransport implements SseTransport {
  private deliver: ((message: SseHubMessage) => void) | undefined;

  subscribe(deliver: (message: SseHubMessage) => void): void {
    this.deliver = deliver;
  }

  publish(message: SseHubMessage): Promise<void> {
    this.deliver?.(message);
    return Promise.resolve();
  }
}
