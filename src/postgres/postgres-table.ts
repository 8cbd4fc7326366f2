import { createHash } from 'node:crypto';
import { escapeIdentifier as id, escapeLiteral as literal } from 'pg';

/** A hub message as the table holds it. */
export interface MessageRow {
  /** Its place in commit order (`int8`, which node-postgres reads as a string). */
  position: string;
  message: string;
}

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
 */
export class PostgresTable {
  /** `schema.table`, quoted. */
  readonly name: string;
  readonly channel: string;
  private readonly sequence: string;
  private readonly lockKey: string;
  private readonly regclass: string;
  private readonly trigger: string;
  private readonly commitFunction: string;
  private readonly publishFunction: string;
  /** Every open stream of every instance, and the instances with the time each is alive until (see `PostgresPresence`). */
  readonly presence: string;
  readonly instances: string;

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
    const digest = createHash('sha256').update(`${schema}.${table}`).digest();
    // A channel is an identifier (at most 63 bytes): a digest fits whatever the names are.
    this.channel = `sse_hub_${digest.subarray(0, 8).toString('hex')}`;
    this.lockKey = digest.readBigInt64BE(8).toString();
  }

  /** Whether the tables, the publish function and the trigger are there already (then nothing is created, and no DDL privilege is needed). */
  existsQuery(): string {
    return `SELECT to_regclass(${literal(this.presence)}) IS NOT NULL AND to_regprocedure(${literal(`${this.publishFunction}(text[],text[])`)}) IS NOT NULL AND EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(${this.regclass}) AND tgname = ${literal(`${this.table}_commit`)}) AS ready`;
  }

  /** Creates what is missing, in one transaction, under the lock (two instances starting at once both succeed). */
  createStatements(): string {
    const position = literal(this.sequence);
    return `
      SELECT pg_advisory_xact_lock(${this.lockKey});
      CREATE SCHEMA IF NOT EXISTS ${id(this.schema)};
      CREATE SEQUENCE IF NOT EXISTS ${this.sequence};
      CREATE TABLE IF NOT EXISTS ${this.name} (
        position bigint NOT NULL,
        message text NOT NULL,
        idempotency_key text,
        published_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE UNIQUE INDEX IF NOT EXISTS ${id(`${this.table}_position`)} ON ${this.name} (position);
      CREATE UNIQUE INDEX IF NOT EXISTS ${id(`${this.table}_idempotency_key`)} ON ${this.name} (idempotency_key);
      -- Unlogged: what a crash loses, the instances write again (their heartbeat finds them gone).
      CREATE UNLOGGED TABLE IF NOT EXISTS ${this.instances} (instance text PRIMARY KEY, alive_until timestamptz NOT NULL);
      CREATE UNLOGGED TABLE IF NOT EXISTS ${this.presence} (
        instance text NOT NULL,
        client text NOT NULL,
        channels text[] NOT NULL,
        info text,
        PRIMARY KEY (instance, client)
      );
      CREATE INDEX IF NOT EXISTS ${id(`${this.table}_presence_channels`)} ON ${this.presence} USING gin (channels);
      -- The transport's own publish: the lock before the positions, the rows in the order given.
      CREATE OR REPLACE FUNCTION ${this.publishFunction}(messages text[], keys text[]) RETURNS void LANGUAGE plpgsql AS $sse$
      BEGIN
        PERFORM pg_advisory_xact_lock(${this.lockKey});
        INSERT INTO ${this.name} (position, message, idempotency_key)
          SELECT nextval(${position}), m.message, m.key FROM unnest(messages, keys) WITH ORDINALITY AS m(message, key, n) ORDER BY m.n
          ON CONFLICT (idempotency_key) DO NOTHING;
        PERFORM pg_notify(${literal(this.channel)}, '');
      END
      $sse$;
      CREATE OR REPLACE FUNCTION ${this.commitFunction}() RETURNS trigger LANGUAGE plpgsql AS $sse$
      BEGIN
        PERFORM pg_advisory_xact_lock(${this.lockKey});
        UPDATE ${this.name} SET position = nextval(${position}), published_at = clock_timestamp() WHERE position = NEW.position;
        PERFORM pg_notify(${literal(this.channel)}, '');
        RETURN NULL;
      END
      $sse$;
      DO $sse$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(${this.regclass}) AND tgname = ${literal(`${this.table}_commit`)}) THEN
          CREATE CONSTRAINT TRIGGER ${this.trigger} AFTER INSERT ON ${this.name} DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW WHEN (NEW.position < 0) EXECUTE FUNCTION ${this.commitFunction}();
        END IF;
      END
      $sse$;`;
  }

  /**
   * The transport's own publish, of what one turn published: one statement, one round
   * trip, one transaction, the messages and their keys as two array parameters.
   */
  publishStatement(): string {
    return `SELECT ${this.publishFunction}($1::text[], $2::text[])`;
  }

  /** An insert in the app's transaction: its position comes at commit (see the class comment). */
  publishInStatement(): string {
    return `INSERT INTO ${this.name} (position, message, idempotency_key) VALUES (-nextval(${literal(this.sequence)}), $1, $2) ON CONFLICT (idempotency_key) DO NOTHING`;
  }

  listenStatement(): string {
    return `LISTEN ${id(this.channel)}`;
  }

  /** The newest position, or null when the table is empty. */
  newestQuery(): string {
    return `SELECT max(position)::text AS position FROM ${this.name}`;
  }

  /** From `$1` on (`from`, with it) or after it, in order, at most `$2`. */
  readQuery(from: 'at' | 'after'): string {
    // As text, whatever type parser the app's pool has for int8; ordered by the column, not by that text.
    return `SELECT position::text AS position, message FROM ${this.name} AS t WHERE t.position ${from === 'at' ? '>=' : '>'} $1 ORDER BY t.position LIMIT $2`;
  }

  /**
   * Deletes the oldest rows, never others, so that a row that is still there has every
   * later one after it: past `maxLen` and, with `maxAge`, those before the first young
   * one. Row locks on old rows only: publishers are never blocked.
   */
  trimStatement(maxLen: number, maxAgeMs: number | undefined): string {
    const newest = `(SELECT max(position) FROM ${this.name})`;
    const byLength = `position <= ${newest} - ${maxLen}`;
    if (maxAgeMs === undefined) return `DELETE FROM ${this.name} WHERE position > 0 AND ${byLength}`;
    const firstYoung = `(SELECT min(position) FROM ${this.name} WHERE position > 0 AND published_at > clock_timestamp() - ${maxAgeMs} * interval '1 millisecond')`;
    return `DELETE FROM ${this.name} WHERE position > 0 AND (${byLength} OR position < COALESCE(${firstYoung}, ${newest} + 1))`;
  }
}

/** A schema or table name: quoted where it is used, so any name works, within PostgreSQL's 63 bytes (minus the suffixes added). */
export function checkName(what: 'schema' | 'table', name: unknown): string {
  const room = what === 'table' ? 63 - '_presence_channels'.length : 63;
  if (typeof name !== 'string' || name === '' || name.includes('\0') || Buffer.byteLength(name) > room) {
    throw new TypeError(`PostgresTransport: ${what} must be a name of 1 to ${room} bytes, got ${JSON.stringify(name)}.`);
  }
  return name;
}
