import { DEFAULT_CONCURRENT_REPLAYS } from '../defaults';

/**
 * Lets a few replays read at once and queues the rest, in order: each read holds up to
 * a page of the transport's and its client's `maxPendingBytes`, so the gate is what
 * bounds the memory of a crowd reconnecting with old ids (a deploy, an attack) to a few
 * of those, instead of one per client.
 */
export class ReplayGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max = DEFAULT_CONCURRENT_REPLAYS) {}

  async run<T>(read: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await read();
    } finally {
      // The slot passes to the next in line as it is, or is given back.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
