import { compareEventIds, isEventId } from './event-id';
import { type SseBroadcastMessage } from './sse-hub-message.interface';
import { type SseHistoryResult } from './sse-replay.type';

type StoredMessage = SseBroadcastMessage & { id: string };

/**
 * The last `size` broadcasts, in one ring: memory is bounded by `size` alone. One log
 * for every channel (filtered on replay), like one Redis stream: ids keep one order.
 */
export class InMemoryHistory {
  private readonly ring: Array<StoredMessage | undefined>;
  private start = 0;
  private length = 0;
  // The id just before the oldest kept: a client that saw it has missed only what is kept.
  private evicted: string | undefined;

  constructor(readonly size: number) {
    this.ring = new Array(size);
  }

  append(message: StoredMessage): void {
    if (this.size === 0) return;
    if (this.length < this.size) {
      this.ring[(this.start + this.length++) % this.size] = message;
    } else {
      this.evicted = this.ring[this.start]!.id;
      this.ring[this.start] = message;
      this.start = (this.start + 1) % this.size;
    }
  }

  /** Every message after `lastEventId`, or a gap if that id is not (or no longer) here. */
  since(lastEventId: string): SseHistoryResult {
    if (!isEventId(lastEventId) || this.length === 0) return { status: 'gap' };
    let from = 0;
    if (lastEventId !== this.evicted) {
      const index = this.indexOf(lastEventId);
      if (index < 0) return { status: 'gap' };
      from = index + 1;
    }
    const messages: SseBroadcastMessage[] = [];
    for (let i = from; i < this.length; i++) messages.push(this.at(i));
    return { status: 'complete', messages };
  }

  private at(i: number): StoredMessage {
    return this.ring[(this.start + i) % this.size]!;
  }

  // Ids only grow, so the ring is sorted: binary search.
  private indexOf(id: string): number {
    let low = 0;
    let high = this.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const order = compareEventIds(this.at(mid).id, id);
      if (order === 0) return mid;
      if (order < 0) low = mid + 1;
      else high = mid - 1;
    }
    return -1;
  }
}
