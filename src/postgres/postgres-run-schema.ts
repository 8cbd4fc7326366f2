import { escapeIdentifier as id, escapeLiteral as literal } from 'pg';
import { dollarQuoted } from './postgres-dollar-quoted';
import { keyId, RUN_SCHEMA_VERSION, statusOf, type PostgresRunTable } from './postgres-run-table';

/** Whether the run tables and functions of this version are there (a condition, never null). */
export function runSchemaReady(r: PostgresRunTable): string {
  const version = `obj_description(to_regclass(${literal(r.runs)}), 'pg_class') = ${literal(RUN_SCHEMA_VERSION)}`;
  return (
    `coalesce(${version}, false) AND to_regprocedure(${r.claimSignature}) IS NOT NULL ` +
    `AND to_regprocedure(${r.appendSignature}) IS NOT NULL`
  );
}

/**
 * The run tables and their two functions (see `PostgresRunTable`, `PostgresRunStore`),
 * in one transaction under the schema's lock (`lockKey`): within `createSchemaStatements`,
 * or alone where the rest is there (an install of an earlier version), so that they never
 * wait on a lock of the messages table that an app's open transaction holds. A run's row
 * is locked (`FOR UPDATE`) before its events are touched, so a claim, an append and the
 * sweep of one run never interleave, and each statement of a function sees what
 * committed before it.
 */
export function createRunSchemaStatements(r: PostgresRunTable, lockKey: string): string {
  const ms = "* interval '1 millisecond'";
  return `
      SELECT pg_advisory_xact_lock(${lockKey});
      CREATE SCHEMA IF NOT EXISTS ${id(r.schema)};
      CREATE TABLE IF NOT EXISTS ${r.runs} (
        id bytea PRIMARY KEY,
        key text NOT NULL,
        run text NOT NULL,
        status text NOT NULL,
        first_seq bigint NOT NULL,
        last_seq bigint NOT NULL,
        bytes bigint NOT NULL,
        ttl_ms bigint NOT NULL,
        max_events bigint NOT NULL,
        max_bytes bigint NOT NULL,
        lease_until timestamptz NOT NULL,
        expires_at timestamptz NOT NULL
      );
      CREATE INDEX IF NOT EXISTS ${id(`${r.table}_runs_expires_at`)} ON ${r.runs} (expires_at);
      -- An event that text cannot keep as it is (NUL, a lone surrogate) is kept as a JSON string (escaped).
      CREATE TABLE IF NOT EXISTS ${r.events} (
        id bytea NOT NULL,
        seq bigint NOT NULL,
        body text NOT NULL,
        size bigint NOT NULL,
        escaped boolean NOT NULL,
        PRIMARY KEY (id, seq)
      );
      CREATE OR REPLACE FUNCTION ${r.claimFunction}(run_key text, new_run text, ttl bigint, most_events bigint,
        most_bytes bigint, lease bigint, OUT created boolean, OUT run_id text, OUT run_status text,
        OUT first_event bigint, OUT last_event bigint)
      LANGUAGE plpgsql AS ${dollarQuoted(`
      DECLARE
        key_id bytea := ${keyId('run_key')};
        leased timestamptz := now() + lease ${ms};
        kept record;
      BEGIN
        FOR attempt IN 1..10 LOOP
          INSERT INTO ${r.runs} (id, key, run, status, first_seq, last_seq, bytes, ttl_ms, max_events, max_bytes,
            lease_until, expires_at)
          VALUES (key_id, run_key, new_run, 'running', 1, 0, 0, ttl, most_events, most_bytes, leased,
            leased + ttl ${ms})
          ON CONFLICT (id) DO NOTHING;
          IF NOT FOUND THEN
            SELECT * INTO kept FROM ${r.runs} AS x WHERE x.id = key_id FOR UPDATE;
            -- Deleted since (the sweep, a release): try again.
            CONTINUE WHEN NOT FOUND;
            IF kept.expires_at > now() THEN
              created := false;
              run_id := kept.run;
              run_status := ${statusOf('kept')};
              first_event := kept.first_seq;
              last_event := kept.last_seq;
              RETURN;
            END IF;
            -- Gone (its ttl passed): the key's run starts anew, without the events of the old one.
            DELETE FROM ${r.events} AS e WHERE e.id = key_id;
            UPDATE ${r.runs} AS x SET run = new_run, status = 'running', first_seq = 1, last_seq = 0, bytes = 0,
              ttl_ms = ttl, max_events = most_events, max_bytes = most_bytes, lease_until = leased,
              expires_at = leased + ttl ${ms}
            WHERE x.id = key_id;
          END IF;
          -- Each run created deletes up to ten gone ones: the tables do not grow with finished runs.
          WITH gone AS (
            DELETE FROM ${r.runs} AS x WHERE x.id IN (SELECT y.id FROM ${r.runs} AS y WHERE y.expires_at <= now()
              ORDER BY y.expires_at LIMIT 10 FOR UPDATE SKIP LOCKED)
            RETURNING x.id)
          DELETE FROM ${r.events} AS e USING gone WHERE e.id = gone.id;
          created := true;
          run_id := new_run;
          run_status := 'running';
          first_event := 1;
          last_event := 0;
          RETURN;
        END LOOP;
        RAISE EXCEPTION 'the run of % could not be claimed: it was deleted at each of 10 attempts', run_key;
      END
      `)};
      CREATE OR REPLACE FUNCTION ${r.appendFunction}(run_key text, this_run text, from_seq bigint, bodies text[],
        sizes bigint[], escapes boolean[], lease bigint)
      RETURNS boolean LANGUAGE plpgsql AS ${dollarQuoted(`
      DECLARE
        key_id bytea := ${keyId('run_key')};
        kept record;
        old record;
        first_kept bigint;
        last_kept bigint;
        kept_bytes bigint;
        cut bigint;
        dropped bigint;
      BEGIN
        SELECT * INTO kept FROM ${r.runs} AS x WHERE x.id = key_id FOR UPDATE;
        IF NOT FOUND OR kept.run <> this_run OR kept.status <> 'running' OR kept.lease_until <= now() THEN
          RETURN false;
        END IF;
        first_kept := kept.first_seq;
        last_kept := kept.last_seq;
        kept_bytes := kept.bytes;
        -- What lay between never arrived: a reader asking for it gets a resync, not a hole.
        IF from_seq > last_kept + 1 THEN
          DELETE FROM ${r.events} AS e WHERE e.id = key_id;
          first_kept := from_seq;
          last_kept := from_seq - 1;
          kept_bytes := 0;
        END IF;
        -- Those numbered up to last_kept are there already (a retry).
        WITH added AS (
          INSERT INTO ${r.events} (id, seq, body, size, escaped)
          SELECT key_id, from_seq + a.n - 1, a.body, a.size, a.escaped
          FROM unnest(bodies, sizes, escapes) WITH ORDINALITY AS a(body, size, escaped, n)
          WHERE from_seq + a.n - 1 > last_kept
          RETURNING seq, size)
        SELECT coalesce(max(added.seq), last_kept), kept_bytes + coalesce(sum(added.size), 0)
          INTO last_kept, kept_bytes FROM added;
        -- The oldest go while there are too many, or too many bytes; the newest always stays.
        IF last_kept - first_kept + 1 > kept.max_events THEN
          cut := last_kept - kept.max_events + 1;
          WITH gone AS (
            DELETE FROM ${r.events} AS e WHERE e.id = key_id AND e.seq >= first_kept AND e.seq < cut RETURNING e.size)
          SELECT coalesce(sum(gone.size), 0) INTO dropped FROM gone;
          first_kept := cut;
          kept_bytes := kept_bytes - dropped;
        END IF;
        IF kept_bytes > kept.max_bytes AND first_kept < last_kept THEN
          -- From the oldest, in the key's order, only as far as needed: the events that stay are not read.
          cut := first_kept;
          dropped := 0;
          FOR old IN SELECT e.seq, e.size FROM ${r.events} AS e
              WHERE e.id = key_id AND e.seq >= first_kept AND e.seq < last_kept ORDER BY e.seq LOOP
            EXIT WHEN kept_bytes - dropped <= kept.max_bytes;
            dropped := dropped + old.size;
            cut := old.seq + 1;
          END LOOP;
          DELETE FROM ${r.events} AS e WHERE e.id = key_id AND e.seq >= first_kept AND e.seq < cut;
          first_kept := cut;
          kept_bytes := kept_bytes - dropped;
        END IF;
        UPDATE ${r.runs} AS x SET first_seq = first_kept, last_seq = last_kept, bytes = kept_bytes,
          lease_until = now() + lease ${ms}, expires_at = now() + (lease + kept.ttl_ms) ${ms}
        WHERE x.id = key_id;
        RETURN true;
      END
      `)};
      -- Last: once it says this version, everything above is there (schemaReadyQuery).
      COMMENT ON TABLE ${r.runs} IS ${literal(RUN_SCHEMA_VERSION)};`;
}
