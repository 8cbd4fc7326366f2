import { DEFAULT_HISTORY_SIZE } from '../defaults';
import { EventIdGenerator } from './event-id';
import { InMemoryHistory } from './in-memory-history';
import { type SseHubMessage } from './sse-hub-message.interface';
import { type SseHistoryResult } from './sse-replay.type';
import { type SseTransport } from './sse-transport.interface';

/** How many idempotency keys are remembered. */
const IDEMPOTENCY_KEYS = 10_000;

/** @publicApi */
export interface InMemoryTransportOptions {
  /** How many recent broadcasts to keep for replay (default 1000; 0 keeps none). */
  historySize?: number;
}

/**
 * The default transport: a message goes straight to this process's hub, synchronously,
 * so a broadcast has reached every local client when `publish` returns. The last
 * `historySize` broadcasts are kept for clients that reconnect. It offers no presence
 * store: the hub's own registry is this instance's presence.
 *
 * @publicApi
 */
export class InMemoryTransport implements SseTransport {
  private deliver: ((message: SseHubMessage) => void) | undefined;
  private readonly ids = new EventIdGenerator();
  private readonly recent: InMemoryHistory;
  /** The latest idempotency keys, oldest first (a Set keeps insertion order). */
  private readonly keys = new Set<string>();

  constructor(options: InMemoryTransportOptions = {}) {
    const size = options.historySize ?? DEFAULT_HISTORY_SIZE;
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new TypeError(`history size must be a non-negative integer, got ${String(size)}.`);
    }
    this.recent = new InMemoryHistory(size);
  }

  subscribe(deliver: (message: SseHubMessage) => void): void {
    this.deliver = deliver;
  }

  publish(message: SseHubMessage): Promise<void> {
    if (message.type === 'broadcast' && message.idempotencyKey !== undefined) {
      if (this.keys.has(message.idempotencyKey)) return Promise.resolve();
      this.keys.add(message.idempotencyKey);
      if (this.keys.size > IDEMPOTENCY_KEYS) this.keys.delete(this.keys.values().next().value!);
    }
    if (message.type === 'broadcast') {
      const stored = { ...message, id: this.ids.next() };
      this.recent.append(stored);
      message = stored;
    }
    this.deliver?.(message);
    return Promise.resolve();
  }

  history(lastEventId: string): SseHistoryResult {
    return this.recent.since(lastEventId);
  }
}
