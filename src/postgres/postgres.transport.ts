import { Client, type ClientConfig, DatabaseError, Pool, type QueryResult } from 'pg';
import {
  type SseBroadcastMessage,
  type SseBroadcastOptions,
  type SseHistoryResult,
  type SseHubMessage,
  type SsePresence,
  type SsePresenceChange,
  type SseTransport,
  type SseTransportState,
  SseTransportUnavailableError,
} from '../hub';
import { PublishBatch } from '../hub/publish-batch';
import { ThrottledLogger } from '../hub/throttled-logger';
import { broadcastMessage } from '../hub/broadcast-message';
import { type ServerAddress } from '../hub/server-address';
import { type PostgresTransportOptions } from './postgres-transport-options.interface';
import { PostgresPresence } from './postgres-presence';
import { connectionOf, serverOf } from './postgres-connection';
import { PostgresReader } from './postgres-reader';
import {
  checkName,
  type MessageRow,
  type PageRow,
  PostgresTable,
  type PublishStatus,
} from './postgres-table';
import { SseIdempotencyKeyBusyError } from './sse-idempotency-key-busy.error';

const DEFAULT_TABLE = 'sse_hub_messages';
const DEFAULT_MAX_LEN = 10_000;
const DEFAULT_POLL_MS = 5000;
const DEFAULT_PRESENCE_TTL = 15_000;
/** How long after a publish its instance trims the table: once a second at most. */
const TRIM_DELAY_MS = 1000;
const RECONNECT_MS = [50, 100, 250, 500, 1000, 2000];
/** Connection names, as `pg_stat_activity.application_name` shows them. */
export const LISTENER_NAME = 'nestjs-sse-hub:listener';
export const PUBLISHER_NAME = 'nestjs-sse-hub:publisher';
/** A broadcast id: the row's position, in the form of the hub's ids (`<n>-0`). */
const POSITION_ID = /^([1-9]\d{0,14})-0$/;
/** Rows, and about how many bytes of messages, per page of a replay. */
const HISTORY_PAGE = 1000;
const HISTORY_PAGE_BYTES = 1024 * 1024;

/**
 * Anything that runs a query with parameters: a `pg` client or pool, or an ORM's handle on
 * the app's transaction (TypeORM's `EntityManager` and `QueryRunner`, Knex's `raw`...).
 *
 * @publicApi
 */
export interface PostgresQueryable {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

/**
 * A transport for many instances of an app on PostgreSQL alone: every hub message is a
 * row of one table, which is also the history; `LISTEN`/`NOTIFY` wakes every instance's
 * reader, which reads the rows after its cursor and delivers them to its own clients.
 * A row's position (in commit order, see `PostgresTable`) is the broadcast's id, so a
 * client can reconnect to any instance and replay from the table.
 *
 * A `NOTIFY` only wakes: its payload carries nothing, and one lost while the listener was
 * away costs nothing, because the reader always reads the table from its cursor, after
 * every reconnect too (see `PostgresReader`). The reader finds what trimming took before
 * it got there and sends its clients a resync, as a replay does for an id that is gone or
 * unknown.
 *
 * `publishIn(tx, value)` publishes in the app's own transaction: the event goes out if
 * and only if the transaction commits (the outbox pattern). While that transaction holds
 * an idempotency key, a broadcast of the same key is refused at once
 * (`SseIdempotencyKeyBusyError`) rather than wait for it.
 *
 * PostgreSQL being down never stops the app: it starts, serves its clients, and
 * reconnects; meanwhile `publish` rejects with `SseTransportUnavailableError`.
 *
 * @publicApi
 */
export class PostgresTransport implements SseTransport {
  private readonly logger = new ThrottledLogger(PostgresTransport.name);
  private readonly table: PostgresTable;
  private readonly pool: Pool;
  private readonly ownsPool: boolean;
  private readonly listenConfig: ClientConfig;
  private readonly maxLen: number;
  private readonly maxAge: number | undefined;
  private readonly pollMs: number;
  /** Where PostgreSQL is, with no password, and the secrets to scrub from what the driver says. */
  private readonly server: ServerAddress;
  private readonly where: string;
  private deliver: ((message: SseHubMessage) => void) | undefined;
  private created: Promise<void> | undefined;
  private listener: Client | undefined;
  private readonly reader: PostgresReader;
  private running: Promise<void> | undefined;
  private closing = false;
  private poll: NodeJS.Timeout | undefined;
  private trimTimer: NodeJS.Timeout | undefined;
  /** Why the listener, or the pool, last failed, while it is down. */
  private readonly failures = new Map<'listener' | 'pool', string>();
  private readonly live = new Deferred();
  private readonly stopped = new Deferred();
  private readonly batch = new PublishBatch((pairs) => this.insert(pairs));
  private readonly presenceStore: PostgresPresence;

  constructor(options: PostgresTransportOptions = {}) {
    if (!options.pool && !options.connectionString) {
      throw new TypeError(
        "PostgresTransport: give it a connectionString (postgres://user:password@host:5432/database) or the app's pg pool ({ pool }).",
      );
    }
    this.table = new PostgresTable(
      checkName('schema', options.schema ?? 'public'),
      checkName('table', options.table ?? DEFAULT_TABLE),
    );
    this.maxLen = positiveInteger('maxLen', options.maxLen ?? DEFAULT_MAX_LEN);
    this.maxAge = options.maxAge === undefined ? undefined : positiveInteger('maxAge', options.maxAge);
    this.pollMs = positiveInteger('pollMs', options.pollMs ?? DEFAULT_POLL_MS);
    this.ownsPool = !options.pool;
    this.pool =
      options.pool ??
      new Pool({ connectionString: options.connectionString, application_name: PUBLISHER_NAME, max: 4 });
    const poolConfig = connectionOf(this.pool);
    this.listenConfig = options.listenConnectionString
      ? { connectionString: options.listenConnectionString, application_name: LISTENER_NAME, keepAlive: true }
      : { ...poolConfig, application_name: LISTENER_NAME, keepAlive: true };
    // Both checked (each must be a connection string node-postgres reads); logs name the listener's server.
    const pooled = serverOf(options.pool ? "the pool's connectionString" : 'connectionString', poolConfig);
    this.server = options.listenConnectionString
      ? serverOf('listenConnectionString', this.listenConfig, [poolConfig])
      : pooled;
    this.where = this.server.text;
    // An idle connection that breaks is reported on its pool, the app's pool too: with no listener there, it would end the process.
    this.pool.on('error', (error) => this.failed('pool', error));
    this.reader = new PostgresReader(
      this.table,
      (message) => this.deliver?.(message),
      (error) => this.failed('listener', error),
      this.logger,
      this.maxLen,
    );
    const ttl = positiveInteger('presenceTtl', options.presenceTtl ?? DEFAULT_PRESENCE_TTL);
    this.presenceStore = new PostgresPresence(
      this.table,
      async (text, values) => (await this.create(), this.query(text, values)),
      ttl,
      this.logger,
    );
  }

  /** Resolves once this instance listens and reads: what is published from then on reaches its clients. */
  ready(): Promise<void> {
    return this.live.promise;
  }

  subscribe(deliver: (message: SseHubMessage) => void): void {
    this.deliver = deliver;
    // Not awaited: PostgreSQL being down at start-up must not keep the app from starting.
    this.running = this.listen();
    this.poll = setInterval(() => this.reader.wake(), this.pollMs).unref();
    this.presenceStore.start(deliver);
    void this.presenceStore.beat();
  }

  updatePresence(changes: SsePresenceChange[]): void {
    this.presenceStore.update(changes);
  }

  /** Every stream of every live instance (or of one channel), read from PostgreSQL. */
  presence(channel?: string): Promise<SsePresence> {
    return this.presenceStore.query(channel);
  }

  async publish(message: SseHubMessage): Promise<void> {
    if (this.closing)
      throw new SseTransportUnavailableError(this.where, new Error('the transport is closed'), 'PostgreSQL');
    // The position is the table's to give.
    const entry =
      message.type === 'broadcast' ? { ...message, id: undefined, idempotencyKey: undefined } : message;
    const key = message.type === 'broadcast' ? (message.idempotencyKey ?? '') : '';
    await this.batch.add(key, JSON.stringify(entry));
  }

  /**
   * Publishes a broadcast in the app's own transaction: clients get it when, and only
   * if, that transaction commits (the outbox pattern). `tx` is whatever runs the app's
   * queries in it: a `pg` client after `BEGIN`, TypeORM's `EntityManager` in
   * `dataSource.transaction()`, a `QueryRunner`. The event's position (its id) is taken
   * at commit, so a long transaction never holds back the broadcasts of others. With an
   * `idempotencyKey`, the transaction holds the key until it ends: a broadcast of the same
   * key meanwhile is refused with `SseIdempotencyKeyBusyError`, and another `publishIn` of
   * it waits for this transaction.
   */
  async publishIn(tx: PostgresQueryable, value: unknown, options: SseBroadcastOptions = {}): Promise<void> {
    if (!tx || typeof tx.query !== 'function') {
      throw new TypeError(
        'PostgresTransport.publishIn: the first argument must run queries in your transaction (a pg client after BEGIN, a TypeORM EntityManager or QueryRunner).',
      );
    }
    // Refused here, as SseHub.broadcast refuses it, rather than found undeliverable on every instance.
    const { idempotencyKey, ...message } = broadcastMessage(
      value,
      options,
      Infinity,
      'PostgresTransport.publishIn',
    );
    await this.create();
    await tx.query(this.table.publishInStatement(), [JSON.stringify(message), idempotencyKey ?? null]);
    this.scheduleTrim();
  }

  /**
   * Every broadcast after `lastEventId`, read in pages of about `HISTORY_PAGE_BYTES`: the
   * row of that id must still be there, and no row after the last one read may have been
   * trimmed meanwhile (the watermark, read with each page, says so), else it is a gap.
   * With `each`, the broadcasts go to it page by page and none are kept here.
   */
  async history(
    lastEventId: string,
    each?: (message: SseBroadcastMessage) => boolean,
  ): Promise<SseHistoryResult> {
    const position = POSITION_ID.exec(lastEventId)?.[1];
    if (position === undefined) return { status: 'gap' };
    const { rows } = await this.query<MessageRow>(this.table.readQuery('at'), [position, 1]);
    if (rows[0]?.position !== position) return { status: 'gap' };
    const messages: SseBroadcastMessage[] = [];
    const take = each ?? ((message: SseBroadcastMessage) => messages.push(message) > 0);
    for (let cursor = position; ;) {
      const page = (
        await this.query<PageRow>(this.table.historyPageQuery(), [cursor, HISTORY_PAGE, HISTORY_PAGE_BYTES])
      ).rows;
      // Rows after the cursor were trimmed since the last page: what came after it cannot be known whole.
      const trimmed = page[0]?.trimmed;
      if (trimmed !== null && trimmed !== undefined && BigInt(trimmed) > BigInt(cursor))
        return { status: 'gap' };
      if (page[0]?.position === null || page.length === 0) return { status: 'complete', messages };
      for (const row of page as MessageRow[]) {
        cursor = row.position;
        const message = this.reader.decode(row);
        if (message?.type === 'broadcast' && !take(message)) return { status: 'gap' };
      }
    }
  }

  /** Up while the listener is connected and reading, and the pool's last attempt worked; else which is not, and why. */
  state(): SseTransportState {
    if (this.closing)
      return { up: false, reason: 'the transport is closed: the application is shutting down' };
    const down: string[] = [];
    const pool = this.failures.get('pool');
    if (pool !== undefined) down.push(`the pool cannot reach it (${pool}), so broadcasts are refused`);
    if (!this.listener)
      down.push(
        `the listener connection is not ready (${this.failures.get('listener') ?? 'connecting'}), so no hub message reaches this instance`,
      );
    else if (!this.reader.reading) down.push('the listener has not started reading the table yet');
    return down.length === 0
      ? { up: true }
      : { up: false, reason: `PostgreSQL at ${this.where}: ${down.join('; ')}.` };
  }

  async close(): Promise<void> {
    await this.presenceStore.stop();
    this.closing = true;
    this.stopped.resolve();
    clearInterval(this.poll);
    clearTimeout(this.trimTimer);
    await this.listener?.end().catch(() => undefined);
    await this.running;
    await this.reader.stop();
    if (this.ownsPool) await this.pool.end().catch(() => undefined);
  }

  /** Connects the listener, listens, and reads, for as long as the app runs, across reconnects. */
  private async listen(): Promise<void> {
    for (let attempt = 0; !this.closing; attempt++) {
      const client = new Client(this.listenConfig);
      const ended = new Promise<void>((resolve) => {
        client.on('error', (error) => (this.failed('listener', error), resolve()));
        client.on('end', () => resolve());
      });
      try {
        await client.connect();
        await this.create(client);
        // Listening before reading: a row committed meanwhile is read now or wakes the reader.
        await client.query(this.table.listenStatement());
        client.on('notification', () => this.reader.wake());
        // Reads on it from now on, first what came while there was no listener.
        await this.reader.attach(client);
        this.listener = client;
        this.recovered('listener');
        attempt = 0;
        this.live.resolve();
        // The pool came back with it, most likely: ask rather than wait for a broadcast to.
        if (this.failures.has('pool'))
          this.pool.query('SELECT 1').then(
            () => this.recovered('pool'),
            () => undefined,
          );
        await Promise.race([ended, this.stopped.promise]);
      } catch (error) {
        this.failed('listener', error);
      } finally {
        this.reader.detach(client);
        this.listener = undefined;
        await client.end().catch(() => undefined);
      }
      if (!this.closing)
        await Promise.race([
          sleep(RECONNECT_MS[Math.min(attempt, RECONNECT_MS.length - 1)]),
          this.stopped.promise,
        ]);
    }
  }

  /**
   * Inserts what one turn published, in one transaction and one round trip; refuses, one
   * by one, the messages whose key an open transaction holds (the others are published).
   */
  private async insert(pairs: string[]): Promise<Array<SseIdempotencyKeyBusyError | undefined>> {
    await this.create();
    const messages: string[] = [];
    const keys: Array<string | null> = [];
    for (let i = 0; i < pairs.length; i += 2) {
      keys.push(pairs[i] === '' ? null : pairs[i]);
      messages.push(pairs[i + 1]);
    }
    const { rows } = await this.query<{ statuses: PublishStatus[] | null }>(this.table.publishStatement(), [
      messages,
      keys,
    ]);
    this.scheduleTrim();
    return (rows[0]?.statuses ?? []).map((status, i) =>
      status === 'busy' ? new SseIdempotencyKeyBusyError(keys[i]!) : undefined,
    );
  }

  /** Creates the table, its sequence, indexes and trigger if they are missing: once, before the first use. */
  private create(client?: Client): Promise<void> {
    this.created ??= (async () => {
      const run = (text: string) => (client ? client.query(text) : this.query(text));
      const { rows } = (await run(this.table.existsQuery())) as QueryResult<{ ready: boolean }>;
      if (!rows[0]?.ready) await run(this.table.createStatements());
    })().catch((error: unknown) => {
      // Not remembered: the next use tries again (PostgreSQL was away, or a privilege was granted since).
      this.created = undefined;
      throw error;
    });
    return this.created;
  }

  private scheduleTrim(): void {
    if (this.trimTimer || this.closing) return;
    this.trimTimer = setTimeout(() => {
      this.trimTimer = undefined;
      this.query(this.table.trimStatement(this.maxLen, this.maxAge)).catch((error: unknown) => {
        const message = this.server.scrub((error as Error).message);
        this.logger.warn(
          `trim:${message}`,
          `Trimming ${this.table.name} failed (${message}); it is tried again after the next publish.`,
        );
      });
    }, TRIM_DELAY_MS).unref();
  }

  /** A query on the pool: PostgreSQL's own refusals as they are, a lost connection as `SseTransportUnavailableError`. */
  private async query<Row extends object = any>(text: string, values?: unknown[]): Promise<QueryResult<Row>> {
    try {
      const result = await this.pool.query<Row>(text, values);
      this.recovered('pool');
      return result;
    } catch (error) {
      // What the driver says may quote what it was given: never a password.
      const cause = this.server.scrubError(error);
      if (error instanceof DatabaseError && !error.code?.startsWith('57P') && !error.code?.startsWith('08'))
        throw cause;
      this.failed('pool', cause);
      throw new SseTransportUnavailableError(this.where, cause, 'PostgreSQL');
    }
  }

  /** Says once when a connection is lost and once when it is back, rather than at every retry. */
  private failed(role: 'listener' | 'pool', error: unknown): void {
    const message = this.server.scrub((error as Error)?.message || String(error));
    const wasDown = this.failures.has(role);
    this.failures.set(role, message);
    if (wasDown || this.closing) return;
    const meanwhile = role === 'listener' ? 'No hub message reaches this instance' : 'Broadcasts are refused';
    this.logger.error(
      `${role}-down`,
      `PostgreSQL ${role} connection to ${this.where} failed (${message}); retrying. ${meanwhile} until it is back: check that PostgreSQL runs and is reachable.`,
    );
  }

  private recovered(role: 'listener' | 'pool'): void {
    if (!this.failures.delete(role) || this.closing) return;
    this.logger.log(`${role}-up`, `PostgreSQL ${role} connection to ${this.where} is back.`);
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new TypeError(`PostgresTransport: ${name} must be a positive integer, got ${String(value)}.`);
  return value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

class Deferred {
  resolve!: () => void;
  readonly promise = new Promise<void>((resolve) => (this.resolve = resolve));
}
