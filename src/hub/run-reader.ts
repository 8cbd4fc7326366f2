import { setTimeout as sleep } from 'node:timers/promises';
import { type Subscriber } from 'rxjs';
import { type SseClient } from '../connection';
import { streamOf } from '../connection/internal';
import { encodeEvent } from '../wire';
import { runEventId } from './run-event-id';
import { type SseRunState } from './sse-run-status.interface';
import { type SseRunRecord, type SseRunStore } from './sse-run-store.interface';

/** Events read from the store at once: a reader far behind catches up a page at a time. */
const PAGE = 256;
/** How long a reader far behind waits for its client to take what it was written, between pages. */
const PACE_MS = 20;
/** How long a reader waits for a client that takes nothing before it writes anyway (and the slow-consumer policy applies). */
const STALL_MS = 10_000;
/** About what an event's `id:` line adds to it (`id: <12 hex>-<number>\n`). */
const ID_BYTES = 24;

/** What a reader needs of the hub. */
export interface RunReaderHost {
  readonly store: SseRunStore;
  /** The reader ended (its run did, or its client went). */
  left(reader: RunReader): void;
}

/**
 * One client reading one run: what it missed from the store, a page at a time, then the
 * run's notices as they come, each event once and in order, with the id `<run>-<number>`;
 * its stream ends when the run does. What the store trimmed before the client got it is
 * said with a resync, never skipped in silence.
 */
export class RunReader {
  /** The number of the last event this client got. */
  private cursor: number;
  private reading: Promise<void> | undefined;
  /** A notice came while the store was being read: read again after. */
  private again = false;
  private done = false;
  /** Reads of the store that failed in a row. */
  private failures = 0;
  /** Whether the last event written was the run's `event: error` (a failed run ends with one). */
  private lastWasError = false;
  /** When the last notice came (ms), so that the hub reads the store only for quiet runs. */
  heardAt = Date.now();

  constructor(
    private readonly host: RunReaderHost,
    private readonly client: SseClient,
    readonly key: string,
    readonly run: string,
    after: number,
    /** Whether the client's `Last-Event-ID` named no event of this run: it gets a resync first. */
    unknownId: boolean,
    private readonly subscriber: Subscriber<never>,
  ) {
    this.cursor = after;
    if (unknownId) streamOf(client).resync();
  }

  /** Reads what the client missed, then follows. */
  start(): void {
    this.read();
  }

  /** Stops following (the client went). */
  stop(): void {
    if (this.done) return;
    this.done = true;
    this.host.left(this);
  }

  /** A notice of this key's run, from any instance. */
  notice(run: string, from: number, events: readonly string[], end: SseRunState | undefined): void {
    if (this.done) return;
    this.heardAt = Date.now();
    // Another run of the key (ours ended and a new one began): the store says what became of ours.
    if (run !== this.run || this.reading || from > this.cursor + 1) return this.read();
    // A burst larger than the room a client that keeps up has left: read from the store, paced.
    if (this.overflows(events, from)) return this.read();
    this.write(from, events);
    if (end) this.finish(end);
  }

  /** Reads the store from the cursor until it has caught up (one read at a time). */
  read(): void {
    if (this.done) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.catchUp()
      .then(
        () => void (this.failures = 0),
        // The store's server is away: the stream stays open and reads again once it is back.
        () => void setTimeout(() => this.read(), Math.min(2000, 50 * 2 ** this.failures++)).unref(),
      )
      .finally(() => {
        this.reading = undefined;
        // A notice came after the catch-up last looked (it was ending): it would be lost, the run's end with it.
        if (this.again && this.failures === 0) this.read();
      });
  }

  private async catchUp(): Promise<void> {
    do {
      this.again = false;
      const page = await this.host.store.read(this.key, this.cursor, PAGE);
      if (this.done) return;
      if (!page || page.record.run !== this.run) return this.gone();
      // Trimmed before this client got them: said, not skipped.
      if (page.from > this.cursor + 1) streamOf(this.client).resync(page.from - this.cursor - 1);
      this.cursor = Math.max(this.cursor, page.from - 1);
      await this.writePaced(page.from, page.events);
      if (this.done) return;
      if (page.events.length === PAGE) {
        this.again = true;
        await this.paced();
      } else if (page.record.status !== 'running' && this.cursor >= page.record.last) {
        return this.finish(page.record.status, page.record);
      }
    } while (this.again && !this.done);
  }

  /** Writes the events after the cursor, each once. */
  private write(from: number, events: readonly string[]): void {
    const stream = streamOf(this.client);
    for (let i = Math.max(0, this.cursor + 1 - from); i < events.length && !this.done; i++) {
      const id = runEventId(this.run, from + i);
      stream.writeEvent(`id: ${id}\n${events[i]}`, id);
      this.lastWasError = events[i].startsWith('event: error\n');
      this.cursor = from + i;
    }
  }

  /**
   * Writes a page of the store, each event once the client has room for it: a page (and
   * the run's bytes) may well be more than the stream's `maxPendingBytes` at once.
   */
  private async writePaced(from: number, events: readonly string[]): Promise<void> {
    const stream = streamOf(this.client);
    for (let i = Math.max(0, this.cursor + 1 - from); i < events.length && !this.done; i++) {
      const bytes = events[i].length + ID_BYTES;
      await this.roomFor((pending) => pending > 0 && pending + bytes > stream.maxPendingBytes);
      this.write(from + i, events.slice(i, i + 1));
    }
  }

  /** Whether a notice's events would overflow a client that has taken at least half of what it was written. */
  private overflows(events: readonly string[], from: number): boolean {
    const stream = streamOf(this.client);
    if (stream.pendingBytes > stream.maxPendingBytes / 2) return false;
    let bytes = stream.pendingBytes;
    for (let i = Math.max(0, this.cursor + 1 - from); i < events.length; i++) {
      bytes += events[i].length + ID_BYTES;
      if (bytes > stream.maxPendingBytes) return true;
    }
    return false;
  }

  /** A reader far behind lets its client take what it was written before reading more. */
  private async paced(): Promise<void> {
    const stream = streamOf(this.client);
    await this.roomFor((pending) => pending > stream.maxPendingBytes / 2);
  }

  /**
   * Waits while `full(pendingBytes)` holds. A client that takes nothing for `STALL_MS` is
   * written to anyway: its stream's slow-consumer policy then deals with it, as with any
   * stream, rather than a timer polling it for as long as it stays connected.
   */
  private async roomFor(full: (pending: number) => boolean): Promise<void> {
    const stream = streamOf(this.client);
    let pending = stream.pendingBytes;
    let stalledSince = Date.now();
    while (
      !this.done &&
      !stream.closed &&
      full(stream.pendingBytes) &&
      Date.now() - stalledSince < STALL_MS
    ) {
      await sleep(PACE_MS);
      if (stream.pendingBytes < pending) stalledSince = Date.now();
      pending = stream.pendingBytes;
    }
  }

  /** The run ended: the stream ends after its last event (a run that failed without saying so says it). */
  private finish(status: SseRunState, record?: SseRunRecord): void {
    if (this.done) return;
    if (status === 'running') return;
    if (status === 'failed' && !this.lastWasError && (!record || record.last === this.cursor))
      streamOf(this.client).write(
        encodeEvent({
          event: 'error',
          data: JSON.stringify({ statusCode: 500, message: 'The run stopped: its producer is gone' }),
        }),
      );
    this.stop();
    this.subscriber.complete();
  }

  /** The run is gone from the store (its server restarted empty, or it expired): a resync, then the end. */
  private gone(): void {
    streamOf(this.client).resync();
    this.stop();
    this.subscriber.complete();
  }
}
