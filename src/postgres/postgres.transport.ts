import { Client, type ClientConfig, DatabaseError, Pool, type QueryResult } from 'pg';
import {
  type SseBroadcastMessage,
  type SseBroadcastOptions,
  type SseHistoryResult,
  type SseHubMessage,
  type SsePresenceStore,
  type SseRunStore,
  type SseTransport,
  type SseTransportState,
} from '../hub';
import {
  broadcastMessage,
  ConnectionWatch,
  Deferred,
  positiveInteger,
  PublishBatch,
  sleep,
  ThrottledLogger,
} from '../transport-kit';
import { type PostgresQueryable } from './postgres-queryable.interface';
import { type PostgresTransportOptions } from './postgres-transport-options.interface';
import { PostgresPresence } from './postgres-presence';
import { PostgresRunStore } from './postgres-runs';
import { connectionOf, serverOf } from './postgres-connection';
import { readHistory } from './postgres-history';
import { PostgresReader } from './postgres-reader';
import { PostgresSchema } from './postgres-schema';
import { checkName, PostgresTable, type PublishStatus } from './postgres-table';
import { SseIdempotencyKeyBusyError } from './sse-idempotency-key-busy.error';

const NAME = 'PostgresTransport';
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
 * reconnects; meanwhile `publish` rejects with `SseTransportUnavailableError`. Presence
 * is kept in PostgreSQL too, in two tables beside the messages (`presenceStore`), and so
 * are resumable runs, in two more (`runStore`), a run's lease being `presenceTtl`.
 *
 * @publicApi
 */
export class PostgresTransport implements SseTransport {
  /** The streams of every instance, kept in PostgreSQL beside the messages. */
  readonly presenceStore: SsePresenceStore;
  /** The resumable runs of every instance, kept in PostgreSQL beside the messages. */
  readonly runStore: SseRunStore;
  private readonly logger = new ThrottledLogger(PostgresTransport.name);
  private readonly table: PostgresTable;
  /** Creates what is missing in PostgreSQL, once, before the first use. */
  private readonly schema: PostgresSchema;
  private readonly pool: Pool;
  private readonly ownsPool: boolean;
  private readonly listenConfig: ClientConfig;
  private readonly maxLen: number;
  private readonly maxAge: number | undefined;
  private readonly pollMs: number;
  /** The listener and the pool (with no password in what it says of them), for logs and `state()`. */
  private readonly links: ConnectionWatch<'listener' | 'pool'>;
  private deliver: ((message: SseHubMessage) => void) | undefined;
  private listener: Client | undefined;
  private readonly reader: PostgresReader;
  private running: Promise<void> | undefined;
  private poll: NodeJS.Timeout | undefined;
  private trimTimer: NodeJS.Timeout | undefined;
  private readonly live = new Deferred();
  private readonly stopped = new Deferred();
  private readonly batch = new PublishBatch((pairs) => this.insert(pairs));

  constructor(options: PostgresTransportOptions = {}) {
    if (!options.pool && !options.connectionString) {
      throw new TypeError(
        'PostgresTransport: give it a connectionString (postgres://user:password@host:5432/database) ' +
          "or the app's pg pool ({ pool }).",
      );
    }
    this.table = new PostgresTable(
      checkName('schema', options.schema ?? 'public'),
      checkName('table', options.table ?? DEFAULT_TABLE),
    );
    this.schema = new PostgresSchema(this.table, (text) => this.query(text));
    this.maxLen = positiveInteger(NAME, 'maxLen', options.maxLen ?? DEFAULT_MAX_LEN);
    this.maxAge = options.maxAge === undefined ? undefined : positiveInteger(NAME, 'maxAge', options.maxAge);
    this.pollMs = positiveInteger(NAME, 'pollMs', options.pollMs ?? DEFAULT_POLL_MS);
    this.ownsPool = !options.pool;
    this.pool =
      options.pool ??
      new Pool({ connectionString: options.connectionString, application_name: PUBLISHER_NAME, max: 4 });
    const poolConfig = connectionOf(this.pool);
    const listener = { application_name: LISTENER_NAME, keepAlive: true };
    this.listenConfig = options.listenConnectionString
      ? { connectionString: options.listenConnectionString, ...listener }
      : { ...poolConfig, ...listener };
    // Both checked (each must be a connection string node-postgres reads); logs name the listener's server.
    const pooled = serverOf(options.pool ? "the pool's connectionString" : 'connectionString', poolConfig);
    const server = options.listenConnectionString
      ? serverOf('listenConnectionString', this.listenConfig, [poolConfig])
      : pooled;
    this.links = new ConnectionWatch(this.logger, 'PostgreSQL', server, {
      listener: 'reads',
      pool: 'publishes',
    });
    // An idle connection that breaks is reported on its pool, the app's pool too: with no
    // listener there, it would end the process.
    this.pool.on('error', (error) => this.links.failed('pool', error));
    this.reader = new PostgresReader(
      this.table,
      (message) => this.deliver?.(message),
      (error) => this.links.failed('listener', error),
      this.logger,
      this.maxLen,
    );
    const ttl = positiveInteger(NAME, 'presenceTtl', options.presenceTtl ?? DEFAULT_PRESENCE_TTL);
    this.presenceStore = new PostgresPresence(
      this.table,
      async (text, values) => (await this.schema.create(), this.query(text, values)),
      ttl,
      this.logger,
    );
    this.runStore = new PostgresRunStore(
      this.table.runTable,
      async (text, values) => (await this.schema.createRuns(), this.query(text, values)),
      ttl,
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
  }

  async publish(message: SseHubMessage): Promise<void> {
    if (this.links.closing) throw this.links.unavailable(new Error('the transport is closed'));
    await this.batch.publish(message);
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
        'PostgresTransport.publishIn: the first argument must run queries in your transaction ' +
          '(a pg client after BEGIN, a TypeORM EntityManager or QueryRunner).',
      );
    }
    // Refused here, as SseHub.broadcast refuses it, rather than found undeliverable on every instance.
    const caller = 'PostgresTransport.publishIn';
    const { idempotencyKey, ...message } = broadcastMessage(value, options, Infinity, caller);
    await this.schema.create();
    await tx.query(this.table.publishInStatement(), [JSON.stringify(message), idempotencyKey ?? null]);
    this.scheduleTrim();
  }

  /** Every broadcast after `lastEventId`, read from the table (see `readHistory`). */
  history(lastEventId: string, each?: (message: SseBroadcastMessage) => boolean): Promise<SseHistoryResult> {
    const query = <Row extends object>(text: string, values?: unknown[]) => this.query<Row>(text, values);
    return readHistory(this.table, query, lastEventId, (row) => this.reader.decode(row), each);
  }

  /** Up while the listener is connected and reading, and the pool's last attempt worked; else which is not, and why. */
  state(): SseTransportState {
    const pool = this.links.failure('pool');
    return this.links.state([
      pool !== undefined && `the pool cannot reach it (${pool}), so broadcasts are refused`,
      this.listener
        ? !this.reader.reading && 'the listener has not started reading the table yet'
        : this.links.notReady('listener'),
    ]);
  }

  async close(): Promise<void> {
    this.links.close();
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
    for (let attempt = 0; !this.links.closing; attempt++) {
      const client = new Client(this.listenConfig);
      const ended = new Promise<void>((resolve) => {
        client.on('error', (error) => (this.links.failed('listener', error), resolve()));
        client.on('end', () => resolve());
      });
      try {
        await client.connect();
        await this.schema.create(client);
        // Listening before reading: a row committed meanwhile is read now or wakes the reader.
        await client.query(this.table.listenStatement());
        client.on('notification', () => this.reader.wake());
        // Reads on it from now on, first what came while there was no listener.
        await this.reader.attach(client);
        this.listener = client;
        this.links.recovered('listener');
        attempt = 0;
        this.live.resolve();
        // The pool came back with it, most likely: ask rather than wait for a broadcast to.
        if (this.links.isDown('pool'))
          this.pool.query('SELECT 1').then(
            () => this.links.recovered('pool'),
            () => undefined,
          );
        await Promise.race([ended, this.stopped.promise]);
      } catch (error) {
        this.links.failed('listener', error);
      } finally {
        this.reader.detach(client);
        this.listener = undefined;
        await client.end().catch(() => undefined);
      }
      const wait = RECONNECT_MS[Math.min(attempt, RECONNECT_MS.length - 1)];
      if (!this.links.closing) await Promise.race([sleep(wait), this.stopped.promise]);
    }
  }

  /**
   * Inserts what one turn published, in one transaction and one round trip; refuses, one
   * by one, the messages whose key an open transaction holds (the others are published).
   */
  private async insert(pairs: string[]): Promise<Array<SseIdempotencyKeyBusyError | undefined>> {
    await this.schema.create();
    const messages: string[] = [];
    const keys: Array<string | null> = [];
    for (let i = 0; i < pairs.length; i += 2) {
      keys.push(pairs[i] === '' ? null : pairs[i]);
      messages.push(pairs[i + 1]);
    }
    type Statuses = { statuses: PublishStatus[] | null };
    const { rows } = await this.query<Statuses>(this.table.publishStatement(), [messages, keys]);
    this.scheduleTrim();
    return (rows[0]?.statuses ?? []).map((status, i) =>
      status === 'busy' ? new SseIdempotencyKeyBusyError(keys[i]!) : undefined,
    );
  }

  private scheduleTrim(): void {
    if (this.trimTimer || this.links.closing) return;
    this.trimTimer = setTimeout(() => {
      this.trimTimer = undefined;
      this.query(this.table.trimStatement(this.maxLen, this.maxAge)).catch((error: unknown) => {
        const message = this.links.server.scrub((error as Error).message);
        this.logger.warn(
          `trim:${message}`,
          `Trimming ${this.table.name} failed (${message}); it is tried again after the next publish.`,
        );
      });
    }, TRIM_DELAY_MS).unref();
  }

  /** A query on the pool: PostgreSQL's refusals as they are, a lost connection as `SseTransportUnavailableError`. */
  private async query<Row extends object = any>(text: string, values?: unknown[]): Promise<QueryResult<Row>> {
    try {
      const result = await this.pool.query<Row>(text, values);
      this.links.recovered('pool');
      return result;
    } catch (error) {
      // What the driver says may quote what it was given: never a password.
      if (error instanceof DatabaseError && !error.code?.startsWith('57P') && !error.code?.startsWith('08'))
        throw this.links.server.scrubError(error);
      this.links.failed('pool', error);
      throw this.links.unavailable(error);
    }
  }
}
