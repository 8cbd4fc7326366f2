import { escapeIdentifier as id, escapeLiteral as literal } from 'pg';

/** The schema version of the run tables, kept as the comment of `<table>_runs`: a newer one replaces the functions. */
export const RUN_SCHEMA_VERSION = 'nestjs-sse-hub runs 1';

/** A run's record as the statements return it (numbers as text, whatever parser the app's pool has for int8). */
export interface RunRow {
  run: string;
  status: string;
  first: string;
  last: string;
}

/** A row of `readQuery()`: the record, and one kept event (none: null) in order. */
export interface RunPageRow extends RunRow {
  seq: string | null;
  body: string | null;
  escaped: boolean | null;
}

/**
 * The two tables of resumable runs beside the messages table, and the SQL that works on
 * them (see `PostgresRunStore`): `<table>_runs`, one row per key, and `<table>_run_events`,
 * its kept events. A row is found by the SHA-256 of its key (`id`), so that a key of any
 * length fits a B-tree and an event row does not repeat it. Times are the server's
 * (`now()`): the instances' clocks need not agree.
 *
 * A run is gone once `expires_at` has passed: `ttl` after its end, or, while running,
 * `ttl` after its lease ran out (every `append` and `renew` moves both on). Until then a
 * running run whose lease ran out reads as `failed`.
 */
export class PostgresRunTable {
  readonly runs: string;
  readonly events: string;
  readonly claimFunction: string;
  readonly appendFunction: string;

  constructor(
    readonly schema: string,
    readonly table: string,
  ) {
    this.runs = `${id(schema)}.${id(`${table}_runs`)}`;
    this.events = `${id(schema)}.${id(`${table}_run_events`)}`;
    this.claimFunction = `${id(schema)}.${id(`${table}_run_claim`)}`;
    this.appendFunction = `${id(schema)}.${id(`${table}_run_append`)}`;
  }

  /** The signatures of the two functions, for `to_regprocedure`. */
  get claimSignature(): string {
    return literal(`${this.claimFunction}(text,text,bigint,bigint,bigint,bigint)`);
  }

  get appendSignature(): string {
    return literal(`${this.appendFunction}(text,text,bigint,text[],bigint[],boolean[],bigint)`);
  }

  /**
   * Claims key `$1` as run `$2` with ttl, maxEvents, maxBytes `$3`..`$5` and a lease of
   * `$6` ms: a `RunRow` and `created`.
   */
  claimStatement(): string {
    return (
      'SELECT created, run_id AS run, run_status AS status, first_event::text AS first, last_event::text AS last ' +
      `FROM ${this.claimFunction}($1::text, $2::text, $3::bigint, $4::bigint, $5::bigint, $6::bigint)`
    );
  }

  /**
   * Appends events `$4` (their UTF-8 sizes `$5`, whether JSON-escaped `$6`) from `$3` to
   * key `$1`'s run `$2`, with a lease of `$7` ms: `appended`.
   */
  appendStatement(): string {
    return (
      `SELECT ${this.appendFunction}($1::text, $2::text, $3::bigint, $4::text[], $5::bigint[], $6::boolean[], ` +
      '$7::bigint) AS appended'
    );
  }

  /** Key `$1`'s run (a `RunRow`), unless gone. */
  getQuery(): string {
    return `SELECT ${recordColumns('r')} FROM ${this.runs} AS r WHERE r.id = ${keyId('$1')} AND r.expires_at > now()`;
  }

  /**
   * Key `$1`'s run and its kept events after `$2` (at most `$3`), in one statement and so
   * one snapshot: a `RunPageRow` per event, or one with no event.
   */
  readQuery(): string {
    const events =
      `SELECT e.seq, e.body, e.escaped FROM ${this.events} AS e ` +
      'WHERE e.id = r.id AND e.seq > $2::bigint AND e.seq >= r.first_seq AND e.seq <= r.last_seq ' +
      'ORDER BY e.seq LIMIT greatest($3::bigint, 0)';
    return (
      `SELECT ${recordColumns('r')}, e.seq::text AS seq, e.body, e.escaped FROM ${this.runs} AS r ` +
      `LEFT JOIN LATERAL (${events}) AS e ON true ` +
      `WHERE r.id = ${keyId('$1')} AND r.expires_at > now() ORDER BY e.seq`
    );
  }

  /**
   * Ends key `$1`'s run with status `$3` if it is running, its lease not run out, and is
   * run `$2` (any when null); it is gone `ttl` from now. The run as ended (a `RunRow`).
   */
  finishStatement(): string {
    return (
      `UPDATE ${this.runs} AS r SET status = $3::text, expires_at = now() + r.ttl_ms * interval '1 millisecond' ` +
      `WHERE r.id = ${keyId('$1')} AND r.status = 'running' AND r.lease_until > now() ` +
      `AND ($2::text IS NULL OR r.run = $2::text) RETURNING ${recordColumns('r')}`
    );
  }

  /**
   * Renews for `$3` ms the lease of the runs `$2` of keys `$1` (two arrays) still running
   * as that run. Their rows are locked in one order first, so that two renewals of
   * overlapping runs wait on each other rather than deadlock.
   */
  renewStatement(): string {
    const live = "r.status = 'running' AND r.lease_until > now()";
    return (
      `WITH due AS (SELECT r.id FROM ${this.runs} AS r JOIN unnest($1::text[], $2::text[]) AS u(key, run) ` +
      `ON r.id = ${keyId('u.key')} AND r.run = u.run WHERE ${live} ORDER BY r.id FOR UPDATE OF r) ` +
      `UPDATE ${this.runs} AS r SET lease_until = now() + $3::bigint * interval '1 millisecond', ` +
      "expires_at = now() + ($3::bigint + r.ttl_ms) * interval '1 millisecond' " +
      `FROM due WHERE r.id = due.id AND ${live}`
    );
  }

  /** Deletes key `$1`'s run if it is run `$2` and never had an event (it has none to delete either). */
  releaseStatement(): string {
    return `DELETE FROM ${this.runs} WHERE id = ${keyId('$1')} AND run = $2::text AND last_seq = 0`;
  }
}

/** The row of a key: the SHA-256 of its UTF-8 bytes. */
export function keyId(key: string): string {
  return `sha256(convert_to(${key}, 'UTF8'))`;
}

/** How a run of `runs` stands: a running one whose lease ran out has failed (its instance died). */
export function statusOf(run: string): string {
  return `CASE WHEN ${run}.status = 'running' AND ${run}.lease_until <= now() THEN 'failed' ELSE ${run}.status END`;
}

function recordColumns(run: string): string {
  return `${run}.run, ${statusOf(run)} AS status, ${run}.first_seq::text AS first, ${run}.last_seq::text AS last`;
}
