/** What the budget needs of a stream that holds unsent bytes. */
export interface BudgetedStream {
  /** What the budget last counted for this stream; only the budget and the stream change it. */
  budgeted: number;
  /** The bytes the stream holds right now: queued, batched, or in its socket's buffer. */
  readonly pendingBytes: number;
  /** Applies the stream's slow-consumer policy: it stops taking events, or it ends. */
  shed(): void;
}

// Once over the budget, the slowest streams are shed until the total is back under this
// share of it, so that a total hovering at the limit does not cost a scan at every write.
const LOW_WATER = 0.9;

/**
 * One application-wide bound on the bytes held for clients that read slowly, on top of
 * each client's own `maxPendingBytes`: 1,000 stalled clients under 1 MiB each still make
 * a gigabyte. Streams report what they add as they write and what is left when they
 * flush; drained bytes are only noticed at a stream's next flush, so the running total
 * can be high. Past the limit it is recounted exactly, and only if it is really over are
 * the slowest streams shed (each by its own policy) until it is back under 90 %.
 */
export class SsePendingBudget {
  /** The bytes counted so far: exact after a recount, an overestimate in between. */
  total = 0;
  private readonly streams = new Set<BudgetedStream>();
  private enforcing = false;

  constructor(readonly max: number) {}

  get size(): number {
    return this.streams.size;
  }

  add(stream: BudgetedStream): void {
    this.streams.add(stream);
  }

  /** The stream is gone: so are its bytes. */
  remove(stream: BudgetedStream): void {
    this.total -= stream.budgeted;
    stream.budgeted = 0;
    this.streams.delete(stream);
  }

  /** The stream has taken on `bytes` more. */
  grow(stream: BudgetedStream, bytes: number): void {
    stream.budgeted += bytes;
    this.total += bytes;
    if (this.total > this.max && !this.enforcing) this.enforce();
  }

  /** The stream holds exactly `bytes` now. */
  settle(stream: BudgetedStream, bytes: number): void {
    this.total += bytes - stream.budgeted;
    stream.budgeted = bytes;
  }

  private enforce(): void {
    this.enforcing = true;
    try {
      if (this.recount() <= this.max) return;
      const target = this.max * LOW_WATER;
      // Slowest first; a stream that was asked to drop already and still holds the most is
      // ended on the second pass, so the loop always frees memory.
      for (let pass = 0; pass < 2 && this.total > target; pass++) {
        const slowest = [...this.streams]
          .filter((stream) => stream.budgeted > 0)
          .sort((a, b) => b.budgeted - a.budgeted);
        for (const stream of slowest) {
          if (this.total <= target) break;
          stream.shed();
          if (this.streams.has(stream)) this.settle(stream, stream.pendingBytes);
        }
      }
    } finally {
      this.enforcing = false;
    }
  }

  /** Counts what every stream holds right now, exactly (a scan of them all: for snapshots, not per write). */
  recount(): number {
    let total = 0;
    for (const stream of this.streams) {
      stream.budgeted = stream.pendingBytes;
      total += stream.budgeted;
    }
    this.total = total;
    return total;
  }
}
