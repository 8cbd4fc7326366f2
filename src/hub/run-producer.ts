import { setTimeout as sleep } from 'node:timers/promises';
import { encodeEvent, exceedsBytes, SseEventTooLargeError, toSseEvent } from '../wire';
import { type SseRunState } from './sse-run-status.interface';
import { type SseRunStore } from './sse-run-store.interface';
import { type ThrottledLogger } from './throttled-logger';

type Finished = Exclude<SseRunState, 'running'>;

/** What a producer needs of the hub. */
export interface RunProducerHost {
  readonly store: SseRunStore;
  readonly logger: ThrottledLogger;
  /** Sends a run notice to every hub (this one included). */
  publish(notice: {
    key: string;
    run: string;
    from: number;
    events: string[];
    end?: Finished;
  }): Promise<void>;
  /** The producer has stopped, for `status`. */
  ended(producer: RunProducer, status: Finished): void;
}

/** What a run is produced with. */
export interface RunProducerLimits {
  readonly maxEvents: number;
  readonly maxBytes: number;
  readonly maxDuration: number;
  readonly maxEventBytes: number;
  /** The error event readers get when the run fails (the library's `event: error`). */
  readonly errorEvent: (error: unknown) => unknown;
}

/** How long to wait between attempts to store events while the transport's server is away. */
const RETRY_MS = [50, 100, 250, 500, 1000, 2000];

/**
 * The producer of one run on this instance: it numbers what the route's handler yields,
 * stores it (one append at a time, what came meanwhile in the next), tells every hub, and
 * ends the run. It is not the connection: the client that started the run may go, and
 * the run goes on until it completes, fails, is aborted, overruns `maxDuration`, or its
 * instance shuts down.
 */
export class RunProducer {
  readonly controller = new AbortController();
  /** The number of the last event numbered; `flushed`: of the last one stored. */
  private seq = 0;
  private buffer: string[] = [];
  private bufferBytes = 0;
  private appending: Promise<void> | undefined;
  private status: Finished | undefined;
  /** Set once the run ended elsewhere (aborted, or failed by its lease): nothing more is stored. */
  private aborted = false;
  private finishing = false;
  private told = false;
  private stop: (() => void) | undefined;
  private readonly timer: NodeJS.Timeout;
  readonly startedAt = Date.now();

  constructor(
    private readonly host: RunProducerHost,
    readonly key: string,
    readonly run: string,
    private readonly limits: RunProducerLimits,
  ) {
    this.timer = setTimeout(() => {
      const overran = new Error(
        `The run ${key} overran its maxDuration of ${limits.maxDuration} ms and was stopped.`,
      );
      void this.fail(overran, overran);
    }, limits.maxDuration);
    this.timer.unref();
  }

  /** How many events it has produced. */
  get events(): number {
    return this.seq;
  }

  /** Whether it still takes values. */
  get running(): boolean {
    return this.status === undefined;
  }

  /** What stops the handler's source (unsubscribes it), once the run ends for whatever reason. */
  onStop(stop: () => void): void {
    if (this.running) this.stop = stop;
    else stop();
  }

  /** One value of the handler: an event of the run (a value that is not one fails the run, with `event: error`). */
  next(value: unknown): void {
    if (!this.running) return;
    let encoded: string;
    try {
      const event = toSseEvent(value);
      // null and undefined are nothing, as on any route.
      if (!event) return;
      // The run numbers its events: an id of the handler's own would break resuming.
      encoded = encodeEvent({ ...event, id: undefined });
      if (exceedsBytes(encoded, this.limits.maxEventBytes))
        throw new SseEventTooLargeError(Buffer.byteLength(encoded), this.limits.maxEventBytes);
    } catch (error) {
      void this.fail(error);
      return;
    }
    this.push(encoded);
  }

  complete(): Promise<void> {
    return this.end('completed');
  }

  /**
   * The handler failed (or the library stopped it: `abortReason`, which its signal gets):
   * readers get what it produced, then the library's `event: error`, then the end.
   */
  fail(error: unknown, abortReason?: unknown): Promise<void> {
    if (!this.running) return this.appending ?? Promise.resolve();
    const reason = (error as Error)?.message ?? String(error);
    // The handler's failure is the app's bug; a stop by the library (maxDuration, shutdown) is not.
    if (abortReason === undefined)
      this.host.logger.error(
        `run-failed:${reason}`,
        `The resumable run ${this.key} failed; its readers get an error event and their streams end: ${reason}`,
        (error as Error)?.stack,
      );
    else this.host.logger.warn(`run-stopped:${reason}`, `${reason} Its readers get an error event.`);
    const event = toSseEvent(this.limits.errorEvent(error));
    if (event) this.push(encodeEvent({ ...event, id: undefined }));
    return this.end('failed', abortReason);
  }

  /**
   * The run ended elsewhere (`abortRun`, or its lease ran out): the handler's signal aborts,
   * its source is unsubscribed (an async iterator returned), and nothing more is stored.
   */
  abort(status: Finished, reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.buffer = [];
    this.bufferBytes = 0;
    this.status ??= status;
    this.halt(reason);
    this.tell(status);
  }

  /**
   * Ends the run as `status` once what it produced is stored; resolves when the end is
   * told. `abortReason`: the library stops it (its signal aborts with that reason).
   */
  end(status: Finished, abortReason?: unknown): Promise<void> {
    if (!this.running) return this.appending ?? Promise.resolve();
    this.status = status;
    this.halt(abortReason);
    return this.flush();
  }

  private tell(status: Finished): void {
    if (this.told) return;
    this.told = true;
    this.host.ended(this, status);
  }

  /** Stops the handler's source; its signal aborts when the run is stopped rather than done. */
  private halt(abortReason: unknown): void {
    clearTimeout(this.timer);
    if (abortReason !== undefined && !this.controller.signal.aborted) this.controller.abort(abortReason);
    const stop = this.stop;
    this.stop = undefined;
    try {
      stop?.();
    } catch (error) {
      this.host.logger.error(
        'run-stop',
        `Stopping the producer of ${this.key} threw: ${(error as Error)?.message ?? String(error)}`,
      );
    }
  }

  private push(encoded: string): void {
    this.buffer.push(encoded);
    this.bufferBytes += Buffer.byteLength(encoded);
    this.seq++;
    // While its server is away, what waits is bounded like what is kept: the oldest go first,
    // and the numbers skip them, so that a reader asking for them gets a resync.
    while (
      this.buffer.length > 1 &&
      (this.buffer.length > this.limits.maxEvents || this.bufferBytes > this.limits.maxBytes)
    )
      this.bufferBytes -= Buffer.byteLength(this.buffer.shift()!);
    void this.flush();
  }

  private flush(): Promise<void> {
    this.appending ??= this.drain().finally(() => (this.appending = undefined));
    return this.appending;
  }

  private async drain(): Promise<void> {
    // One append at a time keeps the run's events in order in the store and in the notices.
    while (!this.aborted && this.buffer.length > 0) {
      const events = this.buffer;
      const from = this.seq - events.length + 1;
      this.buffer = [];
      this.bufferBytes = 0;
      const stored = await this.retry('store its events', () =>
        this.host.store.append(this.key, this.run, from, events),
      );
      if (this.aborted) return;
      if (!stored) return this.abort('failed', new Error(`The run ${this.key} ended elsewhere.`));
      // Not awaited: the next append need not wait for it (notices go out in the order they
      // are published). Not fatal either: readers that miss it read the store.
      void this.host.publish({ key: this.key, run: this.run, from, events }).catch((error: unknown) => {
        this.host.logger.warn(
          `run-notice:${(error as Error)?.message}`,
          `A notice of the run ${this.key} could not be published; its readers read the store instead: ` +
            `${(error as Error)?.message ?? String(error)}`,
        );
      });
    }
    if (this.aborted || this.status === undefined || this.finishing) return;
    const status = this.status;
    this.finishing = true;
    const ended = await this.retry('end', () => this.host.store.finish(this.key, this.run, status));
    this.tell(status);
    if (!ended) return;
    await this.host
      .publish({ key: this.key, run: this.run, from: this.seq + 1, events: [], end: status })
      .catch(() => undefined);
  }

  /**
   * Runs a store operation until it answers: while the server is away the run waits (its
   * lease, renewed by the hub, runs out if it never comes back: it is then `failed`).
   * Gives `false` when the store refused, or the run was stopped meanwhile.
   */
  private async retry<T>(what: string, operation: () => Promise<T>): Promise<T | false> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await operation();
      } catch (error) {
        if (this.aborted) return false;
        this.host.logger.warn(
          `run-store:${(error as Error)?.message}`,
          `The run ${this.key} could not ${what} (${(error as Error)?.message ?? String(error)}); ` +
            'it tries again until the store answers.',
        );
        if (attempt > 200) return false;
        await sleep(RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]);
      }
    }
  }
}
