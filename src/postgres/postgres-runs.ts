import {
  type SseRunLimits,
  type SseRunPage,
  type SseRunRecord,
  type SseRunState,
  type SseRunStore,
} from '../hub';
import { type PostgresRunTable, type RunPageRow, type RunRow } from './postgres-run-table';

/** Runs one statement on the transport's pool (its errors as the transport gives them). */
type Run = <Row extends object>(text: string, values?: unknown[]) => Promise<{ rows: Row[] }>;

/** NUL, or a UTF-16 surrogate without its pair. */
const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** The longest ttl kept (a thousand years): `Infinity` and beyond become it, a time PostgreSQL can add. */
const MAX_TTL_MS = 1000 * 365 * 24 * 3_600_000;
const ENDED: ReadonlySet<string> = new Set(['completed', 'failed', 'aborted']);

/**
 * The resumable runs of every instance, in two tables beside the messages (see
 * `PostgresRunTable`): each method is one statement, so one round trip. `claim` and
 * `append` are functions on the server that lock the run's row before they look at it,
 * so claims of one key on every instance at once create one run, and an append never
 * meets a claim that replaced its run halfway. Leases are judged by the server's clock.
 * Nothing of a run is kept in this process. The app's transactions are never used: a run
 * goes on whatever they do.
 */
export class PostgresRunStore implements SseRunStore {
  constructor(
    private readonly table: PostgresRunTable,
    private readonly run: Run,
    /** How long, in ms, a run stays running without `append` or `renew` (the transport's `presenceTtl`). */
    readonly lease: number,
  ) {}

  async claim(
    key: string,
    run: string,
    limits: SseRunLimits,
  ): Promise<{ created: boolean; record: SseRunRecord }> {
    checkText('claim', 'key', key);
    checkText('claim', 'run', run);
    const { ttl, maxEvents, maxBytes } = limits ?? ({} as Partial<SseRunLimits>);
    const { rows } = await this.run<RunRow & { created: boolean }>(this.table.claimStatement(), [
      key,
      run,
      limit('limits.ttl', ttl, 0, MAX_TTL_MS),
      limit('limits.maxEvents', maxEvents, 1, Number.MAX_SAFE_INTEGER),
      limit('limits.maxBytes', maxBytes, 1, Number.MAX_SAFE_INTEGER),
      this.lease,
    ]);
    return { created: rows[0].created, record: recordOf(rows[0]) };
  }

  async get(key: string): Promise<SseRunRecord | undefined> {
    checkText('get', 'key', key);
    const { rows } = await this.run<RunRow>(this.table.getQuery(), [key]);
    return rows[0] && recordOf(rows[0]);
  }

  async append(key: string, run: string, from: number, events: readonly string[]): Promise<boolean> {
    checkText('append', 'key', key);
    checkText('append', 'run', run);
    checkCount('append', 'from', from, 1);
    if (!Array.isArray(events) || events.some((event) => typeof event !== 'string'))
      throw new TypeError('PostgresRunStore.append: events must be an array of strings.');
    const bodies: string[] = [];
    const sizes: number[] = [];
    const escapes: boolean[] = [];
    for (const event of events) {
      // Text cannot hold NUL, and a lone surrogate would come back as U+FFFD: such an event
      // is kept as a JSON string (which escapes both), and read back exactly.
      const escaped = UNSTORABLE.test(event);
      bodies.push(escaped ? JSON.stringify(event) : event);
      sizes.push(Buffer.byteLength(event));
      escapes.push(escaped);
    }
    const { rows } = await this.run<{ appended: boolean }>(this.table.appendStatement(), [
      key,
      run,
      from,
      bodies,
      sizes,
      escapes,
      this.lease,
    ]);
    return rows[0]?.appended === true;
  }

  async read(key: string, after: number, count: number): Promise<SseRunPage | undefined> {
    checkText('read', 'key', key);
    checkCount('read', 'after', after, 0);
    checkCount('read', 'count', count, 0);
    const { rows } = await this.run<RunPageRow>(this.table.readQuery(), [key, after, count]);
    if (rows.length === 0) return undefined;
    const record = recordOf(rows[0]);
    const events: string[] = [];
    for (const row of rows)
      if (row.body !== null) events.push(row.escaped ? (JSON.parse(row.body) as string) : row.body);
    return { record, from: Math.max(after + 1, record.first), events };
  }

  async finish(
    key: string,
    run: string | undefined,
    status: Exclude<SseRunState, 'running'>,
  ): Promise<SseRunRecord | undefined> {
    checkText('finish', 'key', key);
    if (run !== undefined) checkText('finish', 'run', run);
    if (!ENDED.has(status))
      throw new TypeError(
        `PostgresRunStore.finish: status must be 'completed', 'failed' or 'aborted', got ${JSON.stringify(status)}.`,
      );
    const { rows } = await this.run<RunRow>(this.table.finishStatement(), [key, run ?? null, status]);
    return rows[0] && recordOf(rows[0]);
  }

  async renew(runs: ReadonlyArray<{ readonly key: string; readonly run: string }>): Promise<void> {
    if (runs.length === 0) return;
    const keys: string[] = [];
    const ids: string[] = [];
    for (const { key, run } of runs) {
      keys.push(checkText('renew', 'key', key));
      ids.push(checkText('renew', 'run', run));
    }
    await this.run(this.table.renewStatement(), [keys, ids, this.lease]);
  }

  async release(key: string, run: string): Promise<void> {
    checkText('release', 'key', key);
    checkText('release', 'run', run);
    await this.run(this.table.releaseStatement(), [key, run]);
  }
}

function recordOf(row: RunRow): SseRunRecord {
  return {
    run: row.run,
    status: row.status as SseRunState,
    first: Number(row.first),
    last: Number(row.last),
  };
}

/** A key or a run: PostgreSQL's text cannot hold NUL (the hub refuses such keys before they get here). */
function checkText(method: string, what: string, value: unknown): string {
  if (typeof value !== 'string' || value.includes('\0'))
    throw new TypeError(
      `PostgresRunStore.${method}: ${what} must be a string without NUL (U+0000), got ${
        typeof value === 'string' ? 'one with NUL' : typeof value
      }.`,
    );
  return value;
}

/** A bound of `claim`: an integer of at least `least`, or `Infinity` (no bound), up to `most`. */
function limit(what: string, value: unknown, least: number, most: number): number {
  if (value === Infinity) return most;
  checkCount('claim', what, value, least);
  return Math.min(value as number, most);
}

function checkCount(method: string, what: string, value: unknown, least: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < least)
    throw new TypeError(
      `PostgresRunStore.${method}: ${what} must be an integer of at least ${least}, got ${String(value)}.`,
    );
}
