import type { Pool } from 'pg';

/** Where PostgreSQL is and how the transport uses it: its table, its history, presence's lifetime. @publicApi */
export interface PostgresTransportOptions {
  /** Where PostgreSQL is, e.g. `postgres://app:secret@db:5432/app` (ignored when `pool` is given). */
  connectionString?: string;
  /**
   * The app's own `pg` pool, to publish, replay and trim with (left open on shutdown).
   * The listener always gets a connection of its own, made from the pool's settings
   * unless `listenConnectionString` says otherwise.
   */
  pool?: Pool;
  /**
   * Where the listener connects, when it must differ: `LISTEN` does not work through a
   * pooler in transaction mode (PgBouncer's `pool_mode = transaction`), so point this at
   * PostgreSQL itself (or a session-mode pool) and the rest at the pooler.
   */
  listenConnectionString?: string;
  /** The schema of the table (default `public`); created if missing. */
  schema?: string;
  /**
   * The table of hub messages, shared by every instance of the app (default
   * `sse_hub_messages`); created if missing, with its sequence, indexes and trigger.
   */
  table?: string;
  /**
   * About how many messages the table keeps for replay (default 10,000; `sendTo` and
   * `close` count too). Trimmed about once a second by the instances that publish, so a
   * burst may stay a little longer. It is also how far an instance's reader may fall
   * behind before it misses messages (then every client on it gets a resync).
   */
  maxLen?: number;
  /** Also trims messages older than this many ms (default: only `maxLen`). */
  maxAge?: number;
  /**
   * How often, in ms, the reader also looks for messages without being woken by a
   * `NOTIFY` (default 5,000): a backstop for a connection that died without a word.
   */
  pollMs?: number;
  /**
   * How long, in ms, an instance that stopped without a goodbye (killed, cut off from
   * PostgreSQL) stays in `SseHub.presence()`: each instance says it is alive every third
   * of it (default 15,000), by the database's clock.
   */
  presenceTtl?: number;
}
