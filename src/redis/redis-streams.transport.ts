import {
  type SseBroadcastMessage,
  type SseHistoryResult,
  type SseHubMessage,
  type SsePresenceStore,
  type SseRunStore,
  type SseTransport,
  type SseTransportState,
} from '../hub';
import {
  ConnectionWatch,
  Deferred,
  positiveInteger,
  PublishBatch,
  ServerAddress,
  StoredMessageReader,
  ThrottledLogger,
} from '../transport-kit';
import { isUnavailable, publisherFor, RedisConnection } from './redis-connection';
import { readHistory } from './redis-history';
import { RedisPresence } from './redis-presence';
import { RedisRunStore } from './redis-runs';
import { type RedisStreamsTransportOptions } from './redis-streams-transport-options.interface';
import { checkStreamName, keyBeside } from './keys';
import {
  APPEND_SCRIPT,
  entriesOf,
  fieldOf,
  MESSAGE_FIELD,
  next,
  type RawEntry,
  sequenceOf,
} from './stream-entries';

const NAME = 'RedisStreamsTransport';
const DEFAULT_STREAM = 'sse-hub';
// Room for bursts: a reader that falls this far behind misses entries (and says so).
const DEFAULT_MAX_LEN = 10_000;
const DEFAULT_BLOCK_MS = 5000;
/** How long a broadcast's idempotency key keeps a retry of it from being published again. */
const IDEMPOTENCY_WINDOW_MS = 10 * 60_000;
const DEFAULT_PRESENCE_TTL = 15_000;
/** Entries read per XREAD. */
const PAGE = 1000;
/** Connection names, as `CLIENT LIST` shows them. */
export const PUBLISHER_NAME = 'nestjs-sse-hub:publisher';
export const READER_NAME = 'nestjs-sse-hub:reader';

/**
 * A transport for many instances of an app: every hub message is an entry of one Redis
 * stream, which every instance reads in full (`XREAD BLOCK` on a connection of its own,
 * no consumer group) and delivers to its own clients. Broadcast ids are the stream's
 * ids, so a client can reconnect to any instance and replay from Redis (`XRANGE`); the
 * stream keeps about the last `maxLen` entries (`MAXLEN ~`).
 *
 * Every entry carries the next number of a sequence (see `APPEND_SCRIPT`), so that what
 * trimming took is never missed in silence: a replay that finds a number missing is a
 * gap (a resync), and so is a reader that fell more than the stream's length behind,
 * for every client of its instance.
 *
 * The reader keeps its cursor across reconnects, so a dropped connection loses nothing.
 * Redis being down never stops the app: it starts, serves its clients, and reconnects;
 * meanwhile `publish` rejects with `SseTransportUnavailableError` (nothing is sent).
 * Presence and resumable runs are kept in Redis too, beside the stream (`presenceStore`,
 * `runStore`).
 *
 * @publicApi
 */
export class RedisStreamsTransport implements SseTransport {
  /** The streams of every instance, kept in Redis beside the stream. */
  readonly presenceStore: SsePresenceStore;
  /** The resumable runs of every instance, kept in Redis beside the stream; their lease is `presenceTtl`. */
  readonly runStore: SseRunStore;
  private readonly logger = new ThrottledLogger(RedisStreamsTransport.name);
  private readonly key: string;
  private readonly maxLen: number;
  private readonly blockMs: number;
  /** The connections to Redis (with no password in what it says of them), for logs and `state()`. */
  private readonly links: ConnectionWatch<'publisher' | 'reader'>;
  private readonly client: RedisConnection;
  private readonly ownsClient: boolean;
  private readonly entries = new StoredMessageReader(this.logger, 'stream', 'bad-entry');
  private reader: RedisConnection | undefined;
  private deliver: ((message: SseHubMessage) => void) | undefined;
  /** The id of the last entry this instance has delivered, and its sequence number. */
  private cursor: string | undefined;
  private sequence: number | undefined;
  private running: Promise<void> | undefined;
  /** Set once the reader has found where to start: from then on, a ready reader reads. */
  private reading = false;
  private readonly live = new Deferred();
  private readonly stopped = new Deferred();
  /** What this instance publishes, in call order (see the constructor). */
  private readonly batch: PublishBatch;

  constructor(options: RedisStreamsTransportOptions = {}) {
    this.key = checkStreamName(options.stream ?? DEFAULT_STREAM);
    this.maxLen = positiveInteger(NAME, 'maxLen', options.maxLen ?? DEFAULT_MAX_LEN);
    this.blockMs = positiveInteger(NAME, 'blockMs', options.blockMs ?? DEFAULT_BLOCK_MS);
    this.ownsClient = !options.client;
    // No offline queue: while Redis is away a broadcast must fail now, not wait or be sent late.
    this.client = new RedisConnection(options.client ?? publisherFor(options.url, PUBLISHER_NAME));
    // Pipelined on one node connection, which Redis runs in the order sent. Not on a
    // Cluster: node-redis sends a command that met MOVED again after rediscovering the
    // slots, by when a later call may have landed first (seen in the fault matrix while a
    // master was killed). One call at a time there; what comes meanwhile goes in the next.
    this.batch = new PublishBatch((entries) => this.append(entries), this.client.isCluster ? 1 : Infinity);
    const secrets = [options.url, this.client.url, (this.client.raw as { options?: unknown }).options];
    const server = new ServerAddress(options.url ?? this.client.url ?? 'redis://localhost:6379', secrets);
    this.links = new ConnectionWatch(this.logger, 'Redis', server, {
      publisher: 'publishes',
      reader: 'reads',
    });
    if (this.client.queuesWhileAway) {
      this.logger.warn(
        'offline-queue',
        'This Redis client queues commands while Redis is away (its offline queue is on): ' +
          'broadcasts would then wait in memory instead of failing. ' +
          'Create it with disableOfflineQueue: true (for createCluster, defaults: { disableOfflineQueue: true }).',
      );
    }
    this.watch(this.client, 'publisher');
    const ttl = positiveInteger(NAME, 'presenceTtl', options.presenceTtl ?? DEFAULT_PRESENCE_TTL);
    this.presenceStore = new RedisPresence(this.client, this.key, ttl, this.logger, this.links);
    // A dead instance's runs fail within the time its streams leave presence.
    this.runStore = new RedisRunStore(this.client, this.key, ttl, this.links);
  }

  /** Resolves once this instance reads the stream: what is published from then on reaches its clients. */
  ready(): Promise<void> {
    return this.live.promise;
  }

  subscribe(deliver: (message: SseHubMessage) => void): void {
    this.deliver = deliver;
    // Not awaited: Redis being down at start-up must not keep the app from starting.
    this.running = this.read();
  }

  /** Up while both connections are ready and this instance reads the stream; else which is not, and why. */
  state(): SseTransportState {
    return this.links.state([
      !this.client.isReady && this.links.notReady('publisher'),
      this.reader?.isReady
        ? !this.reading && 'the reader has not started reading the stream yet'
        : this.links.notReady('reader'),
    ]);
  }

  async publish(message: SseHubMessage): Promise<void> {
    if (!this.client.isReady) throw this.links.unavailable(new Error('not connected'));
    // With the others published in this turn: one round trip for all of them.
    await this.batch.publish(message);
  }

  /** Every broadcast after `lastEventId`, read from the stream (see `readHistory`). */
  async history(
    lastEventId: string,
    each?: (message: SseBroadcastMessage) => boolean,
  ): Promise<SseHistoryResult> {
    if (!this.client.isReady) throw this.links.unavailable(new Error('not connected'));
    return readHistory(this.client, this.key, lastEventId, (entry) => this.decode(entry), each);
  }

  async close(): Promise<void> {
    this.links.close();
    this.stopped.resolve();
    // The reader is blocked in XREAD: no use waiting for it.
    if (this.reader?.isOpen) this.reader.destroy();
    await this.running;
    if (this.ownsClient && this.client.isOpen) this.client.destroy();
  }

  /** Reads every entry after the cursor, for as long as the app runs, across reconnects. */
  private async read(): Promise<void> {
    if (!this.client.isOpen) this.client.connect().catch(() => undefined);
    const reader = (this.reader = this.client.duplicate(READER_NAME));
    this.watch(reader, 'reader');
    reader.connect().catch(() => undefined);
    while (!this.links.closing) {
      try {
        if (!reader.isReady) await Promise.race([reader.untilReady(), this.stopped.promise]);
        if (!reader.isReady) continue;
        if (this.links.closing) return;
        // The newest entry when this instance starts reading: it delivers what comes after.
        if (this.cursor === undefined) [this.cursor, this.sequence] = await this.newest(reader);
        this.reading = true;
        this.live.resolve();
        const reply = await reader.send(this.key, [
          'XREAD',
          'COUNT',
          String(PAGE),
          'BLOCK',
          String(this.blockMs),
          'STREAMS',
          this.key,
          this.cursor,
        ]);
        for (const entry of entriesOf(reply)) this.receive(entry);
      } catch {
        // A lost connection: node-redis reconnects, and the loop goes on from the same cursor.
        if (!this.links.closing && reader.isReady) await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /**
   * Adds entries to the stream through the append script (sent whole: see `evalScript`).
   * Redis answering (a wrong key type...) is said as it is; otherwise it is away.
   */
  private async append(pairs: string[]): Promise<void> {
    const keys = [this.key, keyBeside(this.key, 'idempotency')];
    try {
      await this.client.evalScript(APPEND_SCRIPT, keys, [
        String(this.maxLen),
        String(IDEMPOTENCY_WINDOW_MS),
        ...pairs,
      ]);
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      throw this.links.unavailable(error);
    }
  }

  /** The newest entry's id and sequence number, where this instance starts reading ('0-0' and 0 if empty). */
  private async newest(reader: RedisConnection): Promise<[string, number | undefined]> {
    const last = (await reader.send(this.key, ['XREVRANGE', this.key, '+', '-', 'COUNT', '1'])) as RawEntry[];
    return last[0] ? [last[0][0], sequenceOf(last[0])] : ['0-0', 0];
  }

  /** One entry read live: delivered, after a resync for everyone if entries before it were trimmed unread. */
  private receive(entry: RawEntry): void {
    const sequence = sequenceOf(entry);
    const expected = next(this.sequence);
    if (expected !== undefined && sequence !== undefined && sequence !== expected)
      this.missed(entry, sequence, expected);
    this.cursor = entry[0];
    this.sequence = sequence;
    const message = this.decode(entry);
    if (message) this.deliver?.(message);
  }

  /** Entries before `entry` were never read (trimmed, or the stream started over): a resync for everyone. */
  private missed(entry: RawEntry, sequence: number, expected: number): void {
    const trimmed = sequence > expected;
    const why = trimmed
      ? `missed ${sequence - expected} entries of ${this.key} before ${entry[0]}: ` +
        `they were trimmed before its reader got to them (it fell more than maxLen, ${this.maxLen}, behind). ` +
        'Raise maxLen if bursts are this large'
      : `found ${this.key} started over at ${entry[0]} (Redis restarted without its data, ` +
        'or the stream was deleted): what it held before is unknown';
    this.logger.error(
      trimmed ? 'reader-lag' : 'stream-restarted',
      `This instance ${why}. Every client on this instance is sent a resync.`,
    );
    const lost = trimmed ? `${sequence - expected} entries` : 'entries (the stream started over)';
    this.deliver?.({
      type: 'resync',
      reason: `${lost} of the stream were trimmed before this instance read them`,
    });
  }

  private decode(entry: RawEntry): SseHubMessage | undefined {
    const id = entry[0];
    return this.entries.read(fieldOf(entry, MESSAGE_FIELD), id, `Stream entry ${id} of ${this.key}`);
  }

  /** Says once when a connection is lost and once when it is back, rather than at every retry. */
  private watch(client: RedisConnection, name: 'publisher' | 'reader'): void {
    client.onError((error: Error) => this.links.failed(name, error));
    client.onReady(() => this.links.recovered(name));
  }
}
