import { type SseHubMessage } from '../hub';
import { storedForm } from './stored-message';

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
 * What one call of `send` says of its messages, in their order: nothing (all were taken),
 * or one result per message, an `Error` for one that was refused on its own (the others
 * were taken).
 */
export type PublishResults = void | ReadonlyArray<unknown>;

/**
 * Carries what one instance publishes to the transport's server in call order: what is
 * published in one turn (a loop of `broadcast` calls, a burst from one handler) goes in
 * one call of `send`, at most 1,000 entries or ~1 MiB each, and calls go out in order.
 *
 * `inFlight` says how many calls may be on their way at once. One, where two could land
 * in either order (a pool runs them on two connections): what is published meanwhile
 * then goes together in the next. More where the server takes them in the order sent
 * (one Redis connection, pipelined). Every message's promise settles with its call.
 */
export class PublishBatch {
  private queued: Queued[] = [];
  private sending = 0;

  /** `send` takes pairs: each message's idempotency key (or '') and the message. */
  constructor(
    private readonly send: (pairs: string[]) => Promise<PublishResults>,
    private readonly inFlight = 1,
  ) {}

  /** The body of a transport's `publish`: `message` as the server stores it, with the others of this turn. */
  publish(message: SseHubMessage): Promise<void> {
    const [key, entry] = storedForm(message);
    return this.add(key, entry);
  }

  add(key: string, entry: string): Promise<void> {
    return new Promise((resolve, reject) => {
      // After the code that is publishing now, before anything else: no added latency.
      if (this.queued.length === 0) queueMicrotask(() => this.sendNext());
      this.queued.push({ key, entry, resolve, reject });
    });
  }

  private sendNext(): void {
    while (this.sending < this.inFlight && this.queued.length > 0) this.sendChunk();
  }

  private sendChunk(): void {
    let count = 0;
    let bytes = 0;
    while (count < this.queued.length && count < MAX_ENTRIES && bytes < MAX_BYTES) {
      bytes += this.queued[count].key.length + this.queued[count].entry.length;
      count++;
    }
    const chunk = this.queued.splice(0, count);
    this.sending++;
    let sent: Promise<PublishResults>;
    try {
      sent = this.send(chunk.flatMap((queued) => [queued.key, queued.entry]));
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent
      .then(
        (results) =>
          chunk.forEach((queued, i) =>
            results?.[i] instanceof Error ? queued.reject(results[i]) : queued.resolve(),
          ),
        (error: unknown) => chunk.forEach((queued) => queued.reject(error)),
      )
      .finally(() => {
        this.sending--;
        this.sendNext();
      });
  }
}
