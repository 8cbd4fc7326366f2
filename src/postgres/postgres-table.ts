import { createHash } from 'node:crypto';
import { escapeIdentifier as id, escapeLiteral as literal } from 'pg';
import { PostgresRunTable } from './postgres-run-table';

/** A hub message as the table holds it. */
export interface MessageRow {
  /** Its place in commit order (`int8`, which node-postgres reads as a string). */
  position: string;
  message: string;
}

/**
 * A page of the reader: what trimming took up to (the same on every row; one row with no
 * message when there is none).
 */
export interface PageRow {
  trimmed: string | null;
  position: string | null;
  message: string | null;
}

/**
 * What the publish function says of each message it was given: taken, a key already
 * published, or a key an open transaction holds.
 */
export type PublishStatus = 'published' | 'duplicate' | 'busy';

/**
 * The table of one hub and the SQL that works on it. The names are quoted everywhere;
 * the lock key and the `NOTIFY` channel are derived from them, so that two hubs in one
 * database (two tables) neither wait on each other nor wake each other.
 *
 * Positions (the broadcast ids) follow commit order, not insert order, which is what
 * makes "everything after my cursor" safe to read: a position is taken under a
 * transaction-scoped advisory lock, which is released only after the transaction's rows
 * are visible, so a row can never become visible after a row with a later position.
 * The transport's own inserts take the lock in their publish function, one short statement;
 * an insert inside the app's transaction (`publishIn`) gets a negative stand-in, and a
 * deferred trigger gives it its position at commit, under the same lock, so that the
 * app's transaction holds the lock only for its commit, not for its whole length.
 *
 * Positions are not contiguous (a rolled-back `publishIn` used one up), so a reader cannot
 * tell from them what trimming took: the trim records the highest position it deleted in
 * `<table>_trimmed`, in the statement that deletes, and the reader reads that watermark
 * with its page, in one snapshot.
 *
 * An idempotency key is held by a transaction-scoped advisory lock on the key (the
 * two-int form, which never meets the positions' bigint one) from `publishIn` to its
 * commit: the publish function, which holds the positions' lock, only tries it, and
 * refuses that message rather than wait for the app's transaction.
 */
export class PostgresTable {
  /** `schema.table`, quoted. */
  readonly name: string;
  readonly channel: string;
  readonly sequence: string;
  readonly lockKey: string;
  readonly regclass: string;
  readonly trigger: string;
  readonly commitFunction: string;
  readonly publishFunction: string;
  /** One row: the highest position trimming ever deleted. */
  readonly trimmed: string;
  /** The first half of an idempotency key's lock, `pg_advisory_xact_lock(keyLockClass, hashtext(key))`. */
  readonly keyLockClass: number;
  /** Every open stream of every instance, and the instances with when each is alive until (see `PostgresPresence`). */
  readonly presence: string;
  readonly instances: string;
  /** The resumable runs, in two tables of their own beside the messages (see `PostgresRunStore`). */
  readonly runTable: PostgresRunTable;

  constructor(
    readonly schema: string,
    readonly table: string,
  ) {
    this.name = `${id(schema)}.${id(table)}`;
    this.regclass = literal(this.name);
    this.sequence = `${id(schema)}.${id(`${table}_position`)}`;
    this.commitFunction = `${id(schema)}.${id(`${table}_commit`)}`;
    this.trigger = id(`${table}_commit`);
    this.publishFunction = `${id(schema)}.${id(`${table}_publish`)}`;
    this.presence = `${id(schema)}.${id(`${table}_presence`)}`;
    this.instances = `${id(schema)}.${id(`${table}_instances`)}`;
    this.trimmed = `${id(schema)}.${id(`${table}_trimmed`)}`;
    this.runTable = new PostgresRunTable(schema, table);
    const digest = createHash('sha256').update(`${schema}.${table}`).digest();
    // A channel is an identifier (at most 63 bytes): a digest fits whatever the names are.
    this.channel = `sse_hub_${digest.subarray(0, 8).toString('hex')}`;
    this.lockKey = digest.readBigInt64BE(8).toString();
    this.keyLockClass = digest.readInt32BE(16);
  }

  /**
   * The transport's own publish, of what one turn published: one statement, one round
   * trip, one transaction, the messages and their keys as two array parameters; a
   * `PublishStatus` for each message, in their order (`statuses`).
   */
  publishStatement(): string {
    return `SELECT ${this.publishFunction}($1::text[], $2::text[]) AS statuses`;
  }

  /**
   * An insert in the app's transaction: its position comes at commit (see the class
   * comment). Its key's lock first, held to the end of the transaction: a retry of the key
   * elsewhere is then refused at once, and this insert never waits on the unique index
   * for another (whoever inserted the key before has ended).
   */
  publishInStatement(): string {
    // A CTE with a volatile function is run, once, before the row it feeds; a null key
    // locks nothing (the function is strict).
    return (
      `WITH key_lock AS (SELECT pg_advisory_xact_lock(${this.keyLockClass}, hashtext($2::text))) ` +
      `INSERT INTO ${this.name} (position, message, idempotency_key) ` +
      `SELECT -nextval(${literal(this.sequence)}), $1::text, $2::text FROM key_lock ` +
      'ON CONFLICT (idempotency_key) DO NOTHING'
    );
  }

  listenStatement(): string {
    return `LISTEN ${id(this.channel)}`;
  }

  /** The newest position, or null when the table is empty. */
  newestQuery(): string {
    return `SELECT max(position)::text AS position FROM ${this.name}`;
  }

  /** Where a reader starts: after the newest row, and after what trimming took (an emptied table has no newest). */
  startQuery(): string {
    const newest = `(SELECT max(position) FROM ${this.name})`;
    return `SELECT greatest(${newest}, (SELECT max(position) FROM ${this.trimmed}), 0)::text AS position`;
  }

  /**
   * A page of the reader (`PageRow`): the rows after `$1`, in order, at most `$2`, and the
   * highest position trimming took, in one statement and so one snapshot: a row after the
   * cursor that the reader does not get was trimmed, and then the watermark says so.
   */
  pageQuery(): string {
    return (
      `${this.pageHead()} FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT t.position, t.message ` +
      `FROM ${this.name} AS t WHERE t.position > $1 ORDER BY t.position LIMIT $2) AS m ON true ORDER BY m.position`
    );
  }

  /**
   * A page of a replay (`PageRow`), as `pageQuery()`, of at most `$2` rows and about `$3`
   * bytes of messages (at least one row, however large): the rows are summed up in
   * PostgreSQL, so a history of large events never comes to the app whole.
   */
  historyPageQuery(): string {
    const rows =
      'SELECT t.position, t.message, sum(octet_length(t.message)) OVER (ORDER BY t.position) AS upto ' +
      `FROM ${this.name} AS t WHERE t.position > $1 ORDER BY t.position LIMIT $2`;
    return (
      `${this.pageHead()} FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT w.position, w.message ` +
      `FROM (${rows}) AS w WHERE w.upto - octet_length(w.message) < $3) AS m ON true ORDER BY m.position`
    );
  }

  /** The head of a page's query: what trimming took, the same on every row, and the row. */
  private pageHead(): string {
    return (
      `SELECT (SELECT max(position) FROM ${this.trimmed})::text AS trimmed, ` +
      'm.position::text AS position, m.message'
    );
  }

  /** From `$1` on (`from`, with it) or after it, in order, at most `$2`. */
  readQuery(from: 'at' | 'after'): string {
    // As text, whatever type parser the app's pool has for int8; ordered by the column, not by that text.
    const after = from === 'at' ? '>=' : '>';
    return (
      `SELECT position::text AS position, message FROM ${this.name} AS t ` +
      `WHERE t.position ${after} $1 ORDER BY t.position LIMIT $2`
    );
  }

  /**
   * Deletes the oldest rows, never others, so that a row that is still there has every
   * later one after it: past `maxLen` and, with `maxAge`, those before the first young
   * one. Row locks on old rows only: publishers are never blocked. The highest position
   * deleted goes to the watermark in the same statement (one transaction), so that no
   * reader can see the rows gone and not know it.
   */
  trimStatement(maxLen: number, maxAgeMs: number | undefined): string {
    const newest = `(SELECT max(position) FROM ${this.name})`;
    const byLength = `position <= ${newest} - ${maxLen}`;
    const young = `published_at > clock_timestamp() - ${maxAgeMs} * interval '1 millisecond'`;
    const firstYoung = `(SELECT min(position) FROM ${this.name} WHERE position > 0 AND ${young})`;
    const old =
      maxAgeMs === undefined
        ? byLength
        : `(${byLength} OR position < COALESCE(${firstYoung}, ${newest} + 1))`;
    return (
      `WITH gone AS (DELETE FROM ${this.name} WHERE position > 0 AND ${old} RETURNING position) ` +
      `UPDATE ${this.trimmed} AS w SET position = g.highest ` +
      'FROM (SELECT max(position) AS highest FROM gone) AS g WHERE g.highest > w.position'
    );
  }
}

/**
 * A schema or table name: quoted where it is used, so any name works, within PostgreSQL's
 * 63 bytes (minus the suffixes added).
 */
export function checkName(what: 'schema' | 'table', name: unknown): string {
  const room = what === 'table' ? 63 - '_presence_channels'.length : 63;
  if (typeof name !== 'string' || name === '' || name.includes('\0') || Buffer.byteLength(name) > room) {
    throw new TypeError(
      `PostgresTransport: ${what} must be a name of 1 to ${room} bytes, got ${JSON.stringify(name)}.`,
    );
  }
  return name;
}
