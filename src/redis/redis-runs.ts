import {
  type SseRunLimits,
  type SseRunPage,
  type SseRunRecord,
  type SseRunState,
  type SseRunStore,
} from '../hub';
import { type ConnectionWatch, ENDED_RUN_STATES } from '../transport-kit';
import { keyBeside } from './keys';
import { isUnavailable, type RedisConnection } from './redis-connection';
import {
  APPEND_RUN_SCRIPT,
  CLAIM_RUN_SCRIPT,
  FINISH_RUN_SCRIPT,
  READ_RUN_SCRIPT,
  RELEASE_RUN_SCRIPT,
  RENEW_RUNS_SCRIPT,
} from './run-scripts';

const NAME = 'RedisRunStore';
/** Runs renewed per script: a bounded command, however many runs an instance produces. */
const RENEW_BATCH = 256;

/** A record as the scripts reply: run, status, first, last. */
type RawRecord = [string, string, string | number, string | number];

/**
 * The resumable runs of every instance, kept in Redis beside the stream (its hash slot, so
 * it works on a Redis Cluster): for each run a hash `run:<key>` (which run, its status,
 * first and last event numbers, bytes kept, its limits and the end of its lease) and a list
 * `run-events:<key>` of its kept events. Every method is one Lua script (`run-scripts.ts`),
 * so a claim is atomic across instances and a read sees the run and its events at once;
 * time is Redis's own (`TIME`). Both keys expire by themselves: while the run runs, its
 * lease plus its `ttl` after the last `append` or `renew`; once it ended, its `ttl`. A
 * running run whose lease ran out reads as `failed`. Nothing is kept in this process.
 */
export class RedisRunStore implements SseRunStore {
  constructor(
    private readonly client: RedisConnection,
    private readonly stream: string,
    /** How long a running run stays running without `append` or `renew` (the transport's `presenceTtl`). */
    readonly lease: number,
    /** The transport's connections: what a call that cannot reach Redis rejects with. */
    private readonly links: ConnectionWatch<string>,
  ) {}

  async claim(
    key: string,
    run: string,
    limits: SseRunLimits,
  ): Promise<{ created: boolean; record: SseRunRecord }> {
    checkKey(key);
    checkRun(run);
    const { ttl, maxEvents, maxBytes } = checkLimits(limits);
    const reply = (await this.call(CLAIM_RUN_SCRIPT, key, [
      run,
      String(ttl),
      String(maxEvents),
      String(maxBytes),
      String(this.lease),
    ])) as [number, ...RawRecord];
    return { created: Number(reply[0]) === 1, record: recordOf(reply.slice(1) as RawRecord) };
  }

  async get(key: string): Promise<SseRunRecord | undefined> {
    return (await this.read(key, 0, 0))?.record;
  }

  async append(key: string, run: string, from: number, events: readonly string[]): Promise<boolean> {
    checkKey(key);
    checkRun(run);
    if (!Number.isSafeInteger(from) || from < 1)
      throw new TypeError(`${NAME}: from must be an event number (1 or more), got ${String(from)}.`);
    if (!Array.isArray(events) || events.some((event) => typeof event !== 'string'))
      throw new TypeError(`${NAME}: events must be an array of strings.`);
    const reply = await this.call(APPEND_RUN_SCRIPT, key, [run, String(from), String(this.lease), ...events]);
    return Number(reply) === 1;
  }

  async read(key: string, after: number, count: number): Promise<SseRunPage | undefined> {
    checkKey(key);
    if (!Number.isSafeInteger(after) || after < 0)
      throw new TypeError(`${NAME}: after must be an event number (0 or more), got ${String(after)}.`);
    if (!Number.isSafeInteger(count) || count < 0)
      throw new TypeError(`${NAME}: count must be an integer (0 or more), got ${String(count)}.`);
    const reply = (await this.call(READ_RUN_SCRIPT, key, [String(after), String(count)])) as
      [...RawRecord, string | number, string[]] | null;
    if (!reply) return undefined;
    return {
      record: recordOf(reply.slice(0, 4) as RawRecord),
      from: Number(reply[4]),
      events: reply[5].map(String),
    };
  }

  async finish(
    key: string,
    run: string | undefined,
    status: Exclude<SseRunState, 'running'>,
  ): Promise<SseRunRecord | undefined> {
    checkKey(key);
    if (run !== undefined) checkRun(run);
    if (!ENDED_RUN_STATES.has(status))
      throw new TypeError(
        `${NAME}: a run ends as completed, failed or aborted, got ${JSON.stringify(status)}.`,
      );
    const reply = (await this.call(FINISH_RUN_SCRIPT, key, [
      run === undefined ? '0' : '1',
      run ?? '',
      status,
    ])) as RawRecord | null;
    return reply ? recordOf(reply) : undefined;
  }

  async renew(runs: ReadonlyArray<{ readonly key: string; readonly run: string }>): Promise<void> {
    for (const { key, run } of runs) {
      checkKey(key);
      checkRun(run);
    }
    for (let i = 0; i < runs.length; i += RENEW_BATCH) {
      const batch = runs.slice(i, i + RENEW_BATCH);
      await this.eval(
        RENEW_RUNS_SCRIPT,
        batch.flatMap(({ key }) => this.keysOf(key)),
        [String(this.lease), ...batch.map(({ run }) => run)],
      );
    }
  }

  async release(key: string, run: string): Promise<void> {
    checkKey(key);
    checkRun(run);
    await this.call(RELEASE_RUN_SCRIPT, key, [run]);
  }

  /** A run's hash and its list of events: beside the stream, apart from its other keys and from each other. */
  private keysOf(key: string): [string, string] {
    return [keyBeside(this.stream, `run:${key}`), keyBeside(this.stream, `run-events:${key}`)];
  }

  private call(script: string, key: string, args: string[]): Promise<unknown> {
    return this.eval(script, this.keysOf(key), args);
  }

  /** Runs a script; Redis answering (a wrong key type...) is said as it is, otherwise it is away. */
  private async eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    if (!this.client.isReady) throw this.links.unavailable(new Error('not connected'));
    try {
      return await this.client.evalScript(script, keys, args);
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      throw this.links.unavailable(error);
    }
  }
}

function recordOf([run, status, first, last]: RawRecord): SseRunRecord {
  return { run: String(run), status: status as SseRunState, first: Number(first), last: Number(last) };
}

function checkKey(key: string): void {
  if (typeof key !== 'string')
    throw new TypeError(`${NAME}: a run's key must be a string, got ${typeof key}.`);
}

function checkRun(run: string): void {
  if (typeof run !== 'string' || run === '')
    throw new TypeError(`${NAME}: run must be a non-empty string, got ${JSON.stringify(run)}.`);
}

function checkLimits(limits: SseRunLimits): SseRunLimits {
  for (const name of ['ttl', 'maxEvents', 'maxBytes'] as const) {
    const value = limits?.[name];
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new TypeError(`${NAME}: ${name} must be a positive integer, got ${String(value)}.`);
  }
  return limits;
}
