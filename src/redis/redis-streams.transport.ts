import { createClient, ErrorReply } from 'redis';
import {
  type SseBroadcastMessage,
  type SseHistoryResult,
  type SseHubMessage,
  type SsePresence,
  type SsePresenceChange,
  type SseTransport,
  type SseTransportState,
  SseTransportUnavailableError,
} from '../hub';
import { ThrottledLogger } from '../hub/throttled-logger';
import { PublishBatch } from '../hub/publish-batch';
import { ServerAddress } from '../hub/server-address';
import { backoff, type RedisClient, RedisConnection } from './redis-connection';
import { RedisPresence } from './redis-presence';
import { type RedisStreamsTransportOptions } from './redis-streams-transport-options.interface';
import { checkStreamName, keyBeside } from './keys';
import {
  APPEND_SCRIPT,
  entriesOf,
  fieldOf,
  MESSAGE_FIELD,
  type RawEntry,
  sequenceOf,
} from './stream-entries';

const DEFAULT_STREAM = 'sse-hub';
// Room for bursts: a reader that falls this far behind misses entries (and says so).
const DEFAULT_MAX_LEN = 10_000;
const DEFAULT_BLOCK_MS = 5000;
/** How long a broadcast's idempotency key keeps a retry of it from being published again. */
const IDEMPOTENCY_WINDOW_MS = 10 * 60_000;
const DEFAULT_PRESENCE_TTL = 15_000;
/** Entries read per XREAD, and at most per XRANGE page of a replay. */
const PAGE = 1000;
/** A replay's first page, and about how many bytes its later pages hold (their count follows the entries' size). */
const FIRST_REPLAY_PAGE = 100;
const PAGE_BYTES = 1024 * 1024;
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
 *
 * @publicApi
 */
export class RedisStreamsTransport implements SseTransport {
  private readonly logger = new ThrottledLogger(RedisStreamsTransport.name);
  private readonly key: string;
  private readonly maxLen: number;
  private readonly blockMs: number;
  /** Where Redis is, with no password, and the secrets to scrub from what the driver says. */
  private readonly server: ServerAddress;
  private readonly where: string;
  private readonly client: RedisConnection;
  private readonly ownsClient: boolean;
  private reader: RedisConnection | undefined;
  private deliver: ((message: SseHubMessage) => void) | undefined;
  /** The id of the last entry this instance has delivered, and its sequence number. */
  private cursor: string | undefined;
  private sequence: number | undefined;
  private running: Promise<void> | undefined;
  private closing = false;
  /** Set once the reader has found where to start: from then on, a ready reader reads. */
  private reading = false;
  /** Why each connection (publisher, reader) last failed, while it is down. */
  private readonly failures = new Map<string, string>();
  private readonly live = new Deferred();
  private readonly stopped = new Deferred();
  // Pipelined on the publisher connection, which Redis runs in the order sent.
  private readonly batch = new PublishBatch((entries) => this.appendOrFail(entries), Infinity);
  private readonly presenceStore: RedisPresence;

  constructor(options: RedisStreamsTransportOptions = {}) {
    this.key = checkStreamName(options.stream ?? DEFAULT_STREAM);
    this.maxLen = positiveInteger('maxLen', options.maxLen ?? DEFAULT_MAX_LEN);
    this.blockMs = positiveInteger('blockMs', options.blockMs ?? DEFAULT_BLOCK_MS);
    this.ownsClient = !options.client;
    // No offline queue: while Redis is away a broadcast must fail now, not wait or be sent late.
    this.client = new RedisConnection(options.client ?? publisherFor(options.url));
    const secrets = [options.url, this.client.url, (this.client.raw as { options?: unknown }).options];
    this.server = new ServerAddress(options.url ?? this.client.url ?? 'redis://localhost:6379', secrets);
    this.where = this.server.text;
    if (this.client.queuesWhileAway) {
      this.logger.warn(
        'offline-queue',
        'This Redis client queues commands while Redis is away (its offline queue is on): broadcasts would then wait in memory instead of failing. ' +
          'Create it with disableOfflineQueue: true (for createCluster, defaults: { disableOfflineQueue: true }).',
      );
    }
    this.watch(this.client, 'publisher');
    this.presenceStore = new RedisPresence(
      this.client,
      this.key,
      positiveInteger('presenceTtl', options.presenceTtl ?? DEFAULT_PRESENCE_TTL),
      this.logger,
    );
  }

  /** Resolves once this instance reads the stream: what is published from then on reaches its clients. */
  ready(): Promise<void> {
    return this.live.promise;
  }

  subscribe(deliver: (message: SseHubMessage) => void): void {
    this.deliver = deliver;
    // Not awaited: Redis being down at start-up must not keep the app from starting.
    this.running = this.read();
    this.presenceStore.start(deliver);
  }

  updatePresence(changes: SsePresenceChange[]): void {
    this.presenceStore.update(changes);
  }

  /** Up while both connections are ready and this instance reads the stream; else which is not, and why. */
  state(): SseTransportState {
    if (this.closing)
      return { up: false, reason: 'the transport is closed: the application is shutting down' };
    const down: string[] = [];
    if (!this.client.isReady)
      down.push(
        `the publisher connection is not ready (${this.failures.get('publisher') ?? 'connecting'}), so broadcasts are refused`,
      );
    if (!this.reader?.isReady)
      down.push(
        `the reader connection is not ready (${this.failures.get('reader') ?? 'connecting'}), so no hub message reaches this instance`,
      );
    else if (!this.reading) down.push('the reader has not started reading the stream yet');
    return down.length === 0
      ? { up: true }
      : { up: false, reason: `Redis at ${this.where}: ${down.join('; ')}.` };
  }

  /** Every stream of every live instance (or of one channel), read from Redis. */
  async presence(channel?: string): Promise<SsePresence> {
    if (!this.client.isReady) throw new SseTransportUnavailableError(this.where, new Error('not connected'));
    try {
      return await this.presenceStore.query(channel);
    } catch (error) {
      if (error instanceof ErrorReply && !isUnavailableReply(error)) throw error;
      throw new SseTransportUnavailableError(this.where, this.server.scrubError(error));
    }
  }

  async publish(message: SseHubMessage): Promise<void> {
    if (!this.client.isReady) throw new SseTransportUnavailableError(this.where, new Error('not connected'));
    // The id is Redis's to give; the key is the script's to check.
    const entry =
      message.type === 'broadcast' ? { ...message, id: undefined, idempotencyKey: undefined } : message;
    const key = message.type === 'broadcast' ? (message.idempotencyKey ?? '') : '';
    // With the others published in this turn: one round trip for all of them.
    await this.batch.add(key, JSON.stringify(entry));
  }

  /**
   * Every broadcast after `lastEventId`, read page by page to the end of the stream: the
   * entry of that id must still be there, and the sequence numbers after it unbroken,
   * else what trimming took is a gap. Never a part of what was missed. With `each`, the
   * broadcasts go to it as each page comes, and none are kept here; pages start small and
   * grow while entries are small, so that a page of large events stays near `PAGE_BYTES`.
   */
  async history(
    lastEventId: string,
    each?: (message: SseBroadcastMessage) => boolean,
  ): Promise<SseHistoryResult> {
    if (!this.client.isReady) throw new SseTransportUnavailableError(this.where, new Error('not connected'));
    const messages: SseBroadcastMessage[] = [];
    const take = each ?? ((message: SseBroadcastMessage) => messages.push(message) > 0);
    let start = lastEventId;
    let expected: number | undefined;
    let count = FIRST_REPLAY_PAGE;
    for (let first = true; ; first = false) {
      const entries = (await this.client.send(this.key, [
        'XRANGE',
        this.key,
        start,
        '+',
        'COUNT',
        String(count),
      ])) as RawEntry[];
      let from = 0;
      if (first) {
        // Not there (trimmed, or never ours): what came after it cannot be known whole.
        if (entries[0]?.[0] !== lastEventId) return { status: 'gap' };
        expected = next(sequenceOf(entries[0]));
        from = 1;
      }
      let bytes = 0;
      for (let i = from; i < entries.length; i++) {
        const sequence = sequenceOf(entries[i]);
        // A number missing: entries were trimmed between two pages.
        if (expected !== undefined && sequence !== expected) return { status: 'gap' };
        expected = next(sequence);
        bytes += fieldOf(entries[i], MESSAGE_FIELD)?.length ?? 0;
        const message = this.decode(entries[i]);
        if (message?.type === 'broadcast' && !take(message)) return { status: 'gap' };
      }
      if (entries.length < count) return { status: 'complete', messages };
      start = `(${entries[entries.length - 1][0]}`;
      count = Math.max(1, Math.min(PAGE, Math.floor((PAGE_BYTES * entries.length) / Math.max(1, bytes))));
    }
  }

  async close(): Promise<void> {
    await this.presenceStore.stop();
    this.closing = true;
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
    while (!this.closing) {
      try {
        if (!reader.isReady) await Promise.race([reader.untilReady(), this.stopped.promise]);
        if (!reader.isReady) continue;
        if (this.closing) return;
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
        if (!this.closing && reader.isReady) await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  private async appendOrFail(entries: string[]): Promise<void> {
    try {
      await this.append(entries);
    } catch (error) {
      // Redis answered (a wrong key type...): say what it said. Otherwise it is away.
      if (error instanceof ErrorReply && !isUnavailableReply(error)) throw error;
      throw new SseTransportUnavailableError(this.where, this.server.scrubError(error));
    }
  }

  /** Adds entries to the stream through the append script, loading it into Redis the first time (or after a restart). */
  private async append(pairs: string[]): Promise<Array<string | null>> {
    const keys = [this.key, keyBeside(this.key, 'idempotency')];
    return (await this.client.evalScript(APPEND_SCRIPT, keys, [
      String(this.maxLen),
      String(IDEMPOTENCY_WINDOW_MS),
      ...pairs,
    ])) as Array<string | null>;
  }

  /** The newest entry's id and sequence number, where this instance starts reading ('0-0' and 0 for an empty stream). */
  private async newest(reader: RedisConnection): Promise<[string, number | undefined]> {
    const last = (await reader.send(this.key, ['XREVRANGE', this.key, '+', '-', 'COUNT', '1'])) as RawEntry[];
    return last[0] ? [last[0][0], sequenceOf(last[0])] : ['0-0', 0];
  }

  /** One entry read live: delivered, after a resync for everyone if entries before it were trimmed unread. */
  private receive(entry: RawEntry): void {
    const sequence = sequenceOf(entry);
    const expected = next(this.sequence);
    if (expected !== undefined && sequence !== undefined && sequence !== expected) {
      const trimmed = sequence > expected;
      const why = trimmed
        ? `missed ${sequence - expected} entries of ${this.key} before ${entry[0]}: they were trimmed before its reader got to them (it fell more than maxLen, ${this.maxLen}, behind). Raise maxLen if bursts are this large`
        : `found ${this.key} started over at ${entry[0]} (Redis restarted without its data, or the stream was deleted): what it held before is unknown`;
      this.logger.error(
        trimmed ? 'reader-lag' : 'stream-restarted',
        `This instance ${why}. Every client on this instance is sent a resync.`,
      );
      const missed = trimmed ? `${sequence - expected} entries` : 'entries (the stream started over)';
      this.deliver?.({
        type: 'resync',
        reason: `${missed} of the stream were trimmed before this instance read them`,
      });
    }
    this.cursor = entry[0];
    this.sequence = sequence;
    const message = this.decode(entry);
    if (message) this.deliver?.(message);
  }

  private decode(entry: RawEntry): SseHubMessage | undefined {
    const id = entry[0];
    try {
      const message = JSON.parse(fieldOf(entry, MESSAGE_FIELD) ?? '') as SseHubMessage;
      return message.type === 'broadcast' ? { ...message, id } : message;
    } catch (error) {
      this.logger.error(
        'bad-entry',
        `Stream entry ${id} of ${this.key} is not a hub message and was skipped (is another program writing to this stream? give the transport a stream of its own): ${(error as Error).message}`,
      );
      return undefined;
    }
  }

  /** Says once when a connection is lost and once when it is back, rather than at every retry. */
  private watch(client: RedisConnection, role: string): void {
    let down = false;
    client.onError((error: Error) => {
      const message = this.server.scrub(error.message || error.name);
      this.failures.set(role, message);
      if (down || this.closing) return;
      down = true;
      const meanwhile = role === 'reader' ? 'No hub message reaches this instance' : 'Broadcasts are refused';
      this.logger.error(
        `${role}-down`,
        `Redis ${role} connection to ${this.where} failed (${message}); retrying. ${meanwhile} until it is back: check that Redis runs and is reachable.`,
      );
    });
    client.onReady(() => {
      this.failures.delete(role);
      if (!down) return;
      down = false;
      this.logger.log(`${role}-up`, `Redis ${role} connection to ${this.where} is back.`);
    });
  }
}

/**
 * Replies that say Redis is away rather than that the command is wrong: a cluster without
 * a quorum or a slot being moved, a replica cut from its master, a server still loading.
 */
function isUnavailableReply(error: ErrorReply): boolean {
  return /^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING) /.test(error.message);
}

/** The transport's own publisher connection: no offline queue, reconnecting with back-off. */
function publisherFor(url: string | undefined): RedisClient {
  try {
    return createClient({
      url,
      name: PUBLISHER_NAME,
      disableOfflineQueue: true,
      socket: { reconnectStrategy: backoff },
    }) as RedisClient;
  } catch (error) {
    // node-redis' error repeats the URL (its `input`), password and all.
    throw new TypeError(
      `RedisStreamsTransport: url cannot be read (${(error as Error).message}); it is not repeated here, since it may hold a password. ` +
        'Give it as redis[s]://[[user]:password@]host[:port][/db], with a port from 1 to 65535 and the password percent-encoded (encodeURIComponent).',
    );
  }
}

/** The number that should follow `sequence`, if it is known. */
function next(sequence: number | undefined): number | undefined {
  return sequence === undefined ? undefined : sequence + 1;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new TypeError(`RedisStreamsTransport: ${name} must be a positive integer, got ${String(value)}.`);
  return value;
}

class Deferred {
  resolve!: () => void;
  readonly promise = new Promise<void>((resolve) => (this.resolve = resolve));
}
