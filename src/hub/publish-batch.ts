/** At most this many entries, or about this many bytes, go to the server in one call. */
const MAX_ENTRIES = 1000;
const MAX_BYTES = 1024 * 1024;

interface Queued {
  /** Its idempotency key, or ''. */
  key: string;
  entry: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers what is published in one turn (a loop of `broadcast` calls, a burst from one
 * handler) into one call of `send`, in order: the transport's server (Redis, PostgreSQL)
 * then takes them in one round trip instead of one each. A call holds at most 1,000
 * entries or ~1 MiB; a larger burst is several calls, sent back to back. Every message's
 * promise settles with its own call.
 */
export class PublishBatch {
  private queued: Queued[] = [];

  /** `send` takes pairs: each message's idempotency key (or '') and the message. */
  constructor(private readonly send: (pairs: string[]) => Promise<unknown>) {}

  add(key: string, entry: string): Promise<void> {
    return new Promise((resolve, reject) => {
      // After the code that is publishing now, before anything else: no added latency.
      if (this.queued.length === 0) queueMicrotask(() => this.flush());
      this.queued.push({ key, entry, resolve, reject });
    });
  }

  private flush(): void {
    const queued = this.queued;
    this.queued = [];
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < queued.length; i++) {
      bytes += queued[i].key.length + queued[i].entry.length;
      const last = i === queued.length - 1;
      if (last || i + 1 - start >= MAX_ENTRIES || bytes >= MAX_BYTES) {
        this.sendChunk(queued.slice(start, i + 1));
        start = i + 1;
        bytes = 0;
      }
    }
  }

  private sendChunk(chunk: Queued[]): void {
    this.send(chunk.flatMap((queued) => [queued.key, queued.entry])).then(
      () => {
        for (const queued of chunk) queued.resolve();
      },
      (error: unknown) => {
        for (const queued of chunk) queued.reject(error);
      },
    );
  }
}
