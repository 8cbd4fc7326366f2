import { type Client, escapeIdentifier as id, escapeLiteral as literal, type QueryResult } from 'pg';
import { dollarQuoted } from './postgres-dollar-quoted';
import { createRunSchemaStatements, runSchemaReady } from './postgres-run-schema';
import { type PostgresTable } from './postgres-table';

/**
 * Whether the tables (the presence one with its `announces` and `user_id` columns, the
 * watermark of trimming), the index of positions, the publish function (returning a status per
 * message) and the trigger are there already (`ready`: then nothing is created, and no
 * DDL privilege is needed), and the run tables of this version (`runs_ready`: an install
 * of an earlier version gets them alone, see `createRunSchemaStatements`).
 */
export function schemaReadyQuery(t: PostgresTable): string {
  // The columns later versions added; the rest of the table came with the first.
  const presence =
    `SELECT count(*) = 2 FROM pg_attribute WHERE attrelid = to_regclass(${literal(t.presence)}) ` +
    "AND attname IN ('announces', 'user_id') AND NOT attisdropped";
  const publish =
    `SELECT 1 FROM pg_proc WHERE oid = to_regprocedure(${literal(`${t.publishFunction}(text[],text[])`)}) ` +
    "AND prorettype = 'text[]'::regtype";
  const created = [t.trimmed, `${id(t.schema)}.${id(`${t.table}_position_index`)}`]
    .map((relation) => `to_regclass(${literal(relation)}) IS NOT NULL`)
    .join(' AND ');
  const trigger =
    `SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(${t.regclass}) ` +
    `AND tgname = ${literal(`${t.table}_commit`)}`;
  return (
    `SELECT (${presence}) AND EXISTS (${publish}) AND ${created} AND EXISTS (${trigger}) AS ready, ` +
    `${runSchemaReady(t.runTable)} AS runs_ready`
  );
}

/**
 * Creates what is missing, in one transaction, under the lock (two instances starting at
 * once both succeed): the table, its sequence and indexes, the watermark of trimming, the
 * presence tables, the publish function, the commit trigger (see `PostgresTable`) and
 * the run tables and functions (see `createRunSchemaStatements`).
 */
export function createSchemaStatements(t: PostgresTable): string {
  const position = literal(t.sequence);
  const publishSignature = literal(`${t.publishFunction}(text[],text[])`);
  const hasTrigger =
    `SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(${t.regclass}) ` +
    `AND tgname = ${literal(`${t.table}_commit`)}`;
  return `
      SELECT pg_advisory_xact_lock(${t.lockKey});
      CREATE SCHEMA IF NOT EXISTS ${id(t.schema)};
      CREATE TABLE IF NOT EXISTS ${t.name} (
        position bigint NOT NULL,
        message text NOT NULL,
        idempotency_key text,
        published_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE TABLE IF NOT EXISTS ${t.trimmed} (position bigint NOT NULL);
      DO ${dollarQuoted(`
      BEGIN
        IF to_regclass(${position}) IS NULL THEN
          CREATE SEQUENCE ${t.sequence};
          -- Positions start over: so does what trimming took.
          DELETE FROM ${t.trimmed};
        END IF;
        -- Before the oldest row (of a table an earlier version made) everything is gone, or never was.
        IF NOT EXISTS (SELECT 1 FROM ${t.trimmed}) THEN
          INSERT INTO ${t.trimmed} (position)
            SELECT coalesce(min(position) - 1, 0) FROM ${t.name} WHERE position > 0;
        END IF;
        -- An earlier version's publish returned nothing: a function's result type cannot be replaced, only dropped.
        IF EXISTS (SELECT 1 FROM pg_proc
            WHERE oid = to_regprocedure(${publishSignature}) AND prorettype <> 'text[]'::regtype) THEN
          DROP FUNCTION ${t.publishFunction}(text[], text[]);
        END IF;
      END
      `)};
      -- Not named <table>_position, the sequence's name: a relation's name is the schema's,
      -- and IF NOT EXISTS would skip it.
      CREATE UNIQUE INDEX IF NOT EXISTS ${id(`${t.table}_position_index`)} ON ${t.name} (position);
      CREATE UNIQUE INDEX IF NOT EXISTS ${id(`${t.table}_idempotency_key`)} ON ${t.name} (idempotency_key);
      -- Unlogged: what a crash loses, the instances write again (their heartbeat finds them gone).
      CREATE UNLOGGED TABLE IF NOT EXISTS ${t.instances} (
        instance text PRIMARY KEY,
        alive_until timestamptz NOT NULL
      );
      CREATE UNLOGGED TABLE IF NOT EXISTS ${t.presence} (
        instance text NOT NULL,
        client text NOT NULL,
        channels text[] NOT NULL,
        info text,
        PRIMARY KEY (instance, client)
      );
      -- Whether the stream's route sends join and leave events (a table of an earlier version has no such column).
      ALTER TABLE ${t.presence} ADD COLUMN IF NOT EXISTS announces boolean NOT NULL DEFAULT false;
      -- Whose stream it is (SseClient.user, null for none), for presence by user (a table of an earlier
      -- version has no such column).
      ALTER TABLE ${t.presence} ADD COLUMN IF NOT EXISTS user_id text;
      CREATE INDEX IF NOT EXISTS ${id(`${t.table}_presence_channels`)} ON ${t.presence} USING gin (channels);
      CREATE INDEX IF NOT EXISTS ${id(`${t.table}_presence_user`)} ON ${t.presence} (user_id);
      -- The transport's own publish: the lock before the positions, the rows in the order given, a status for each.
      CREATE OR REPLACE FUNCTION ${t.publishFunction}(messages text[], keys text[])
      RETURNS text[] LANGUAGE plpgsql AS ${dollarQuoted(`
      DECLARE
        statuses text[];
      BEGIN
        PERFORM pg_advisory_xact_lock(${t.lockKey});
        -- A key already there is a repeat; one an open transaction holds (publishIn) is refused,
        -- never waited for while holding the lock of every publish.
        SELECT array_agg(CASE
            WHEN m.key IS NULL THEN 'published'
            WHEN EXISTS (SELECT 1 FROM ${t.name} WHERE idempotency_key = m.key) THEN 'duplicate'
            WHEN pg_try_advisory_xact_lock(${t.keyLockClass}, hashtext(m.key)) THEN 'published'
            ELSE 'busy'
          END ORDER BY m.n) INTO statuses
          FROM unnest(keys) WITH ORDINALITY AS m(key, n);
        -- With the key's lock, no insert of the key is in flight: the unique index never makes this wait.
        INSERT INTO ${t.name} (position, message, idempotency_key)
          SELECT nextval(${position}), m.message, m.key
          FROM unnest(messages, keys, statuses) WITH ORDINALITY AS m(message, key, status, n)
          WHERE m.status = 'published' ORDER BY m.n
          ON CONFLICT (idempotency_key) DO NOTHING;
        PERFORM pg_notify(${literal(t.channel)}, '');
        RETURN statuses;
      END
      `)};
      CREATE OR REPLACE FUNCTION ${t.commitFunction}() RETURNS trigger LANGUAGE plpgsql AS ${dollarQuoted(`
      BEGIN
        PERFORM pg_advisory_xact_lock(${t.lockKey});
        UPDATE ${t.name} SET position = nextval(${position}), published_at = clock_timestamp()
          WHERE position = NEW.position;
        PERFORM pg_notify(${literal(t.channel)}, '');
        RETURN NULL;
      END
      `)};
      DO ${dollarQuoted(`
      BEGIN
        IF NOT EXISTS (${hasTrigger}) THEN
          CREATE CONSTRAINT TRIGGER ${t.trigger} AFTER INSERT ON ${t.name} DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW WHEN (NEW.position < 0) EXECUTE FUNCTION ${t.commitFunction}();
        END IF;
      END
      `)};
      ${createRunSchemaStatements(t.runTable, t.lockKey)}`;
}

/**
 * Creates what the transport needs in PostgreSQL if it is missing, once, before the first
 * use: everything where nothing is there, the run tables alone on an install of an
 * earlier version. Not remembered when it fails: the next use tries again (PostgreSQL was
 * away, or a privilege was granted since).
 */
export class PostgresSchema {
  private created: Promise<void> | undefined;
  private runsCreated: Promise<void> | undefined;
  /** Whether the run tables of this version are there (once `created` resolved). */
  private runsReady = false;

  constructor(
    private readonly table: PostgresTable,
    private readonly query: (text: string) => Promise<QueryResult>,
  ) {}

  /** The tables, the sequence, indexes, functions and trigger (on `client`, the listener's, when given). */
  create(client?: Client): Promise<void> {
    this.created ??= (async () => {
      const run = (text: string) => (client ? client.query(text) : this.query(text));
      const { rows } = (await run(schemaReadyQuery(this.table))) as QueryResult<{
        ready: boolean;
        runs_ready: boolean;
      }>;
      if (!rows[0]?.ready) await run(createSchemaStatements(this.table));
      this.runsReady = !rows[0]?.ready || rows[0].runs_ready;
    })().catch((error: unknown) => {
      this.created = undefined;
      throw error;
    });
    return this.created;
  }

  /**
   * What runs need: the rest, then, on an install of an earlier version, the run tables
   * (which touch nothing an app's transaction locks). Apart, so that broadcasts go on
   * where the app may not create them: then run operations get PostgreSQL's refusal.
   */
  createRuns(): Promise<void> {
    this.runsCreated ??= (async () => {
      await this.create();
      if (this.runsReady) return;
      // Asked again: after a refusal, someone allowed to may have created them since.
      const { rows } = await this.query(`SELECT ${runSchemaReady(this.table.runTable)} AS ready`);
      if (!rows[0]?.ready)
        await this.query(createRunSchemaStatements(this.table.runTable, this.table.lockKey));
      this.runsReady = true;
    })().catch((error: unknown) => {
      this.runsCreated = undefined;
      throw error;
    });
    return this.runsCreated;
  }
}
