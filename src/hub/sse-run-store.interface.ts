import { type SseRunState } from './sse-run-status.interface';

/**
 * A resumable run as its store keeps it.
 *
 * @publicApi
 */
export interface SseRunRecord {
  /**
   * Which run of the key this is: each claim that creates one gives it a new value, and
   * its event ids carry it, so that an id of an earlier run of the same key is told apart.
   */
  readonly run: string;
  /** How it stands; a running run whose lease ran out reads as `failed`. */
  readonly status: SseRunState;
  /** The number of the oldest event kept (`last + 1` when none is). */
  readonly first: number;
  /** The number of the newest event (0 before the first): events are numbered 1, 2, 3… */
  readonly last: number;
}

/**
 * The bounds a run is claimed with, kept with it.
 *
 * @publicApi
 */
export interface SseRunLimits {
  /** How long, in ms, a finished run stays readable before it is gone. */
  readonly ttl: number;
  /** The most events it keeps: beyond, the oldest are trimmed. */
  readonly maxEvents: number;
  /** The most bytes (UTF-8) of events it keeps: beyond, the oldest are trimmed (the newest is always kept). */
  readonly maxBytes: number;
}

/**
 * Events of a run read from its store.
 *
 * @publicApi
 */
export interface SseRunPage {
  /** The run as it stands now. */
  readonly record: SseRunRecord;
  /** The number of `events[0]`. */
  readonly from: number;
  /** Encoded events (`text/event-stream` without their `id:` line), oldest first. */
  readonly events: string[];
}

/**
 * What `SseRunStore.claim` gives.
 *
 * @publicApi
 */
export interface SseRunClaim {
  /** Whether this call created the run (its caller produces it), rather than found one. */
  readonly created: boolean;
  /** The key's run, as created or found. */
  readonly record: SseRunRecord;
}

/**
 * Keeps the resumable runs of the application beside the transport, as the presence
 * store keeps presence: whom a key's run belongs to (claimed atomically, so that one
 * instance produces it), its events for readers that resume, and its end. A transport
 * whose server can keep runs offers one as its `runStore` (Redis, PostgreSQL); otherwise
 * the hub keeps them in this process.
 *
 * Every method resolves or rejects: a server away is `SseTransportUnavailableError`.
 *
 * @publicApi
 */
export interface SseRunStore {
  /**
   * How long, in ms, a running run stays `running` without `append` or `renew`: after it,
   * it reads as `failed` (its instance died). Absent for a store in the process, whose
   * runs end with it.
   */
  readonly lease?: number;
  /**
   * Creates the run of `key` as `run`, running, with no events, unless the key already has
   * one (running, or finished less than its `ttl` ago): atomically, so that of callers on
   * every instance at once, one gets `created: true`. Gives the key's run either way.
   */
  claim(key: string, run: string, limits: SseRunLimits): Promise<SseRunClaim>;
  /** The key's run, or `undefined` when there is none (never claimed, or gone after its `ttl`). */
  get(key: string): Promise<SseRunRecord | undefined>;
  /**
   * Adds events numbered from `from` to the key's run, if it is still `run` and running
   * (and renews its lease); those numbered up to `last` already are skipped (a retry), and
   * a `from` past `last + 1` drops every kept event (what lay between is lost). Then
   * trims the oldest beyond the run's limits. `false`: refused (the run ended, or is gone,
   * or is another run), nothing added.
   */
  append(key: string, run: string, from: number, events: readonly string[]): Promise<boolean>;
  /**
   * Up to `count` kept events of the key's run numbered after `after` (from `first` if
   * those are trimmed), with the run as it stands; `undefined` when there is no run.
   */
  read(key: string, after: number, count: number): Promise<SseRunPage | undefined>;
  /**
   * Ends the key's run with `status`, if it is running and is `run` (any run when
   * `run` is undefined): it stays readable for its `ttl` from now. Gives the run as
   * ended, or `undefined` when nothing was running to end.
   */
  finish(
    key: string,
    run: string | undefined,
    status: Exclude<SseRunState, 'running'>,
  ): Promise<SseRunRecord | undefined>;
  /** Renews the lease of these runs, those still running as that run: their instance is alive. */
  renew(runs: ReadonlyArray<{ readonly key: string; readonly run: string }>): Promise<void>;
  /** Deletes the key's run if it is `run` and has no event yet: its producer never started (its request was refused). */
  release(key: string, run: string): Promise<void>;
}
