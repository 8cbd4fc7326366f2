import { Observable } from 'rxjs';
import { type SseClient } from '../connection';
import { type HubMetrics } from './hub-metrics';
import { newRunName, parseRunEventId } from './run-event-id';
import { RunProducer, type RunProducerLimits } from './run-producer';
import { RunReader } from './run-reader';
import { type SseHubMessage } from './sse-hub-message.interface';
import { checkRunKey } from './sse-run-key.error';
import { type SseRunState, type SseRunStatus } from './sse-run-status.interface';
import { type SseRunLimits, type SseRunRecord, type SseRunStore } from './sse-run-store.interface';
import { type ThrottledLogger } from './throttled-logger';

type Finished = Exclude<SseRunState, 'running'>;
type RunNotice = Extract<SseHubMessage, { type: 'run' }>;

/** How a resumable route runs its runs, resolved once per route. */
export interface RunRoute extends SseRunLimits, Omit<RunProducerLimits, 'maxEvents' | 'maxBytes'> {
  /** Whether a request may start a run (`false`: it only resumes one). */
  readonly create: boolean;
}

/**
 * Where a request for a run's key stands: nothing to read (`204`), or a run to read from
 * `after`, which it starts (`producer`: the handler is to be called) or joins.
 */
export type RunEntrance =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'read';
      readonly key: string;
      readonly run: string;
      readonly after: number;
      /** The client's `Last-Event-ID` named no event of this run: it gets a resync first. */
      readonly unknownId: boolean;
      /** Set when this request claimed the run: the route's handler produces it. */
      readonly producer?: RunProducer;
    };

/** How often, at most, a run that went quiet is read from a store whose runs can outlive their instance. */
const QUIET_CHECK_MS = 1000;
/** How long shutdown waits for its runs' ends to be stored. */
const SHUTDOWN_WAIT_MS = 3000;

/**
 * The resumable runs of this instance: the ones it produces, the clients that read runs
 * here, the notices between them and every other instance, and the run store. Internal:
 * `SseHub.abortRun` / `runStatus` and the interceptor are its callers.
 */
export class HubRuns {
  private readonly producers = new Map<string, RunProducer>();
  private readonly readers = new Map<string, Set<RunReader>>();
  /** The clients that read a run: a resync of the transport is not theirs to hear (the store has their events). */
  private readonly readingClients = new WeakSet<SseClient>();
  private renewTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly store: SseRunStore,
    private readonly publishMessage: (message: SseHubMessage) => Promise<void>,
    readonly logger: ThrottledLogger,
    private readonly metrics: HubMetrics,
    /** Whether the transport hands a published message to this hub before `publish` returns (the in-process one). */
    private readonly deliversAtOnce = false,
  ) {}

  /** Runs this instance produces now, oldest first (for `stats()` and the dashboard). */
  running(): Array<{ key: string; events: number; startedAt: number; readers: number }> {
    return Array.from(this.producers.values(), (producer) => ({
      key: producer.key,
      events: producer.events,
      startedAt: producer.startedAt,
      readers: this.readers.get(producer.key)?.size ?? 0,
    }));
  }

  /** How many clients read runs on this instance. */
  get readerCount(): number {
    let count = 0;
    for (const set of this.readers.values()) count += set.size;
    return count;
  }

  /**
   * Claims the key's run (or finds it, when the route does not create): what a request
   * with `lastEventId` reads of it, or nothing.
   */
  async enter(key: unknown, route: RunRoute, lastEventId: string | undefined): Promise<RunEntrance> {
    const checked = checkRunKey(key);
    let record: SseRunRecord | undefined;
    let producer: RunProducer | undefined;
    if (route.create) {
      const claim = await this.store.claim(checked, newRunName(), route);
      record = claim.record;
      if (claim.created) producer = this.produce(checked, record.run, route);
    } else {
      record = await this.store.get(checked);
    }
    if (!record) return { kind: 'none' };
    const named = lastEventId === undefined ? undefined : parseRunEventId(lastEventId);
    const known = named !== undefined && named.run === record.run && named.seq <= record.last;
    const after = known ? named.seq : 0;
    const unknownId = lastEventId !== undefined && !known;
    // Nothing left of a run that ended (the client has its last event, or it had none): a
    // 204, on which EventSource stops, rather than an empty stream it would retry forever.
    if (record.status !== 'running' && !unknownId && after >= record.last) return { kind: 'none' };
    return {
      kind: 'read',
      key: checked,
      run: record.run,
      after,
      unknownId,
      producer,
    };
  }

  /** The request that claimed a run was refused before its handler ran: the run is let go, as if never claimed. */
  async release(entrance: RunEntrance): Promise<void> {
    if (entrance.kind !== 'read' || !entrance.producer) return;
    entrance.producer.abort('failed', new Error('The request that started the run was refused.'));
    await this.store
      .release(entrance.key, entrance.run)
      .catch((error: unknown) =>
        this.logger.warn(
          `run-release:${(error as Error)?.message}`,
          `The run ${entrance.key} could not be let go (${(error as Error)?.message}); it fails when its lease runs out.`,
        ),
      );
  }

  /**
   * The client's reading of the run: events written to its stream directly, each with its
   * id; completes when the run ends (the stream then ends), stops when unsubscribed.
   */
  follow(client: SseClient, entrance: Extract<RunEntrance, { kind: 'read' }>): Observable<never> {
    return new Observable<never>((subscriber) => {
      const reader = new RunReader(
        this,
        client,
        entrance.key,
        entrance.run,
        entrance.after,
        entrance.unknownId,
        subscriber,
      );
      let set = this.readers.get(entrance.key);
      if (!set) this.readers.set(entrance.key, (set = new Set()));
      set.add(reader);
      this.readingClients.add(client);
      this.watchQuietRuns();
      reader.start();
      return () => reader.stop();
    });
  }

  /** Whether `client` reads a run. */
  reads(client: SseClient): boolean {
    return this.readingClients.has(client);
  }

  /** This instance may have missed notices (its transport's reader fell behind, or its server restarted): every reader reads the store. */
  catchUp(): void {
    for (const set of this.readers.values()) for (const reader of set) reader.read();
  }

  /** A reader ended. */
  left(reader: RunReader): void {
    const set = this.readers.get(reader.key);
    if (!set?.delete(reader) || set.size > 0) return;
    this.readers.delete(reader.key);
    if (this.readers.size === 0) {
      clearInterval(this.checkTimer);
      this.checkTimer = undefined;
    }
  }

  /** A run notice from any instance, this one included. */
  notice(message: RunNotice): void {
    const producer = this.producers.get(message.key);
    // Ended elsewhere (abortRun on another instance): the producer here stops.
    if (message.end && producer?.run === message.run && producer.running)
      producer.abort(message.end, new Error(`The run ${message.key} was ${message.end} (SseHub.abortRun).`));
    const readers = this.readers.get(message.key);
    if (!readers) return;
    for (const reader of Array.from(readers))
      reader.notice(message.run, message.from, message.events, message.end);
  }

  /** Ends the key's run as `aborted`, wherever it is produced: `true` if it was running. */
  async abort(key: string): Promise<boolean> {
    const ended = await this.store.finish(checkRunKey(key), undefined, 'aborted');
    if (!ended) return false;
    await this.publish({ key, run: ended.run, from: ended.last + 1, events: [], end: 'aborted' }).catch(
      (error: unknown) =>
        this.logger.warn(
          `run-abort:${(error as Error)?.message}`,
          `The abort of ${key} is stored, but its notice could not be published ` +
            `(${(error as Error)?.message}): its producer stops at its next event, its readers within a second.`,
        ),
    );
    return true;
  }

  async status(key: string): Promise<SseRunStatus | undefined> {
    const record = await this.store.get(checkRunKey(key));
    return record && { status: record.status, events: record.last };
  }

  /** On shutdown: this instance's runs end as `failed` (nothing is handed over), their ends stored if the store answers. */
  async shutDown(): Promise<void> {
    const ends = Array.from(this.producers.values(), (producer) => {
      const stopped = new Error('The instance producing the run shut down.');
      return producer.fail(stopped, stopped);
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(ends),
      new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_WAIT_MS).unref())),
    ]);
    clearTimeout(timer);
    clearInterval(this.renewTimer);
    clearInterval(this.checkTimer);
  }

  publish(notice: Omit<RunNotice, 'type'>): Promise<void> {
    const message: RunNotice = { type: 'run', ...notice };
    // This instance's readers need not wait for the notice to come back from the transport's
    // server: they have it now, and skip it when it comes back (they go by event numbers).
    if (!this.deliversAtOnce) this.notice(message);
    return this.publishMessage(message);
  }

  /** A producer stopped. */
  ended(producer: RunProducer, status: Finished): void {
    if (this.producers.get(producer.key) !== producer) return;
    this.producers.delete(producer.key);
    this.metrics.runEnded(status);
    if (this.producers.size === 0) {
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
    }
  }

  private produce(key: string, run: string, route: RunRoute): RunProducer {
    const producer = new RunProducer(this, key, run, route);
    this.producers.set(key, producer);
    this.metrics.runStarted();
    const lease = this.store.lease;
    if (lease !== undefined && !this.renewTimer) {
      // A third of the lease: two renewals may fail before the run reads as failed.
      this.renewTimer = setInterval(() => this.renew(), Math.max(50, Math.floor(lease / 3)));
      this.renewTimer.unref();
    }
    return producer;
  }

  private renew(): void {
    const runs = Array.from(this.producers.values(), ({ key, run }) => ({ key, run }));
    this.store
      .renew(runs)
      .catch((error: unknown) =>
        this.logger.warn(
          `run-renew:${(error as Error)?.message}`,
          `The leases of this instance's runs could not be renewed (${(error as Error)?.message}); ` +
            'they fail if the store stays away longer than their lease.',
        ),
      );
  }

  /**
   * Where runs outlive their instance, a run that went quiet is read from the store now and
   * then: a notice lost with a connection costs a second, and a run whose producer died is
   * found failed once its lease runs out.
   */
  private watchQuietRuns(): void {
    if (this.checkTimer || this.store.lease === undefined) return;
    this.checkTimer = setInterval(() => {
      const quiet = Date.now() - QUIET_CHECK_MS;
      for (const set of this.readers.values())
        for (const reader of set) if (reader.heardAt < quiet) reader.read();
    }, QUIET_CHECK_MS);
    this.checkTimer.unref();
  }
}
