import { Logger } from '@nestjs/common';
import { createClient, ErrorReply, type RedisClientType } from 'redis';
import { type SseBroadcastMessage, type SseHistoryResult, type SseHubMessage, type SseTransport } from '../hub';
import { type RedisStreamsTransportOptions } from './redis-streams-transport-options.interface';
import { SseTransportUnavailableError } from './sse-transport-unavailable.error';

type RedisClient = RedisClientType<any, any, any, any, any>;
/** An entry as Redis replies (RESP2): its id and its flat list of fields and values. */
type RawEntry = [id: string, fields: string[]];

const DEFAULT_STREAM = 'sse-hub';
const DEFAULT_MAX_LEN = 1000;
const DEFAULT_BLOCK_MS = 5000;
/** Connection names, as `CLIENT LIST` shows them. */
export const PUBLISHER_NAME = 'nestjs-sse-hub:publisher';
export const READER_NAME = 'nestjs-sse-hub:reader';
/** The one field of an entry: the hub message, as JSON. */
const FIELD = 'm';

/**
 * A transport for many instances of an app: every hub message is an entry of one Redis
 * stream, which every instance reads in full (`XREAD BLOCK` on a connection of its own,
 * no consumer group) and delivers to its own clients. Broadcast ids are the stream's
 * ids, so a client can reconnect to any instance and replay from Redis (`XRANGE`); the
 * stream keeps the last `maxLen` entries (`MAXLEN ~`).
 *
 * The reader keeps its cursor across reconnects, so a dropped connection loses nothing.
 * Redis being down never stops the app: it starts, serves its clients, and reconnects;
 * meanwhile `publish` rejects with `SseTransportUnavailableError` (nothing is sent).
 *
 * @publicApi
 */
export class RedisStreamsTransport implements SseTransport {
  private readonly logger = new Logger(RedisStreamsTransport.name);
  private readonly key: string;
  private readonly maxLen: number;
  private readonly blockMs: number;
  private readonly where: string;
  private readonly client: RedisClient;
  private readonly ownsClient: boolean;
  private reader: RedisClient | undefined;
  private deliver: ((message: SseHubMessage) => void) | undefined;
  /** The id of the last entry this instance has delivered. */
  private cursor: string | undefined;
  private running: Promise<void> | undefined;
  private closing = false;
  private readonly live = new Deferred();
  private readonly stopped = new Deferred();

  constructor(options: RedisStreamsTransportOptions = {}) {
    this.key = options.stream ?? DEFAULT_STREAM;
    this.maxLen = positiveInteger('maxLen', options.maxLen ?? DEFAULT_MAX_LEN);
    this.blockMs = positiveInteger('blockMs', options.blockMs ?? DEFAULT_BLOCK_MS);
    this.where = redact(options.url ?? (options.client?.options as { url?: string } | undefined)?.url ?? 'redis://localhost:6379');
    this.ownsClient = !options.client;
    // No offline queue: while Redis is away a broadcast must fail now, not wait or be sent late.
    this.client = options.client ?? (createClient({ url: options.url, name: PUBLISHER_NAME, disableOfflineQueue: true, socket: { reconnectStrategy: backoff } }) as RedisClient);
    this.watch(this.client, 'publisher');
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

  async publish(message: SseHubMessage): Promise<void> {
    if (!this.client.isReady) throw new SseTransportUnavailableError(this.where, new Error('not connected'));
    // The id is Redis's to give.
    const entry = message.type === 'broadcast' ? { ...message, id: undefined } : message;
    try {
      await this.client.sendCommand(['XADD', this.key, 'MAXLEN', '~', String(this.maxLen), '*', FIELD, JSON.stringify(entry)]);
    } catch (error) {
      // Redis answered (a wrong key type...): say what it said. Otherwise it is away.
      if (error instanceof ErrorReply) throw error;
      throw new SseTransportUnavailableError(this.where, error);
    }
  }

  async history(lastEventId: string): Promise<SseHistoryResult> {
    if (!this.client.isReady) throw new SseTransportUnavailableError(this.where, new Error('not connected'));
    // Trimming is approximate: the stream may hold a little more than maxLen.
    const entries = (await this.client.sendCommand(['XRANGE', this.key, lastEventId, '+', 'COUNT', String(this.maxLen * 2 + 1)])) as RawEntry[];
    let from = 0;
    if (entries[0]?.[0] === lastEventId) from = 1;
    // Not there: complete only if it is the last entry trimmed away (all after it are kept).
    else if ((await this.maxDeletedId()) !== lastEventId) return { status: 'gap' };
    const messages: SseBroadcastMessage[] = [];
    for (let i = from; i < entries.length; i++) {
      const message = this.decode(entries[i]);
      if (message?.type === 'broadcast') messages.push(message);
    }
    return { status: 'complete', messages };
  }

  async close(): Promise<void> {
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
    const reader = (this.reader = this.client.duplicate({ name: READER_NAME, disableOfflineQueue: true, socket: { ...this.client.options?.socket, reconnectStrategy: backoff } }) as RedisClient);
    this.watch(reader, 'reader');
    reader.connect().catch(() => undefined);
    while (!this.closing) {
      try {
        if (!reader.isReady) await Promise.race([untilReady(reader), this.stopped.promise]);
        if (this.closing) return;
        // The newest entry when this instance starts reading: it delivers what comes after.
        this.cursor ??= await this.lastId(reader);
        this.live.resolve();
        const reply = await reader.sendCommand(['XREAD', 'COUNT', '1000', 'BLOCK', String(this.blockMs), 'STREAMS', this.key, this.cursor]);
        for (const entry of entriesOf(reply)) {
          this.cursor = entry[0];
          const message = this.decode(entry);
          if (message) this.deliver?.(message);
        }
      } catch {
        // A lost connection: node-redis reconnects, and the loop goes on from the same cursor.
        if (!this.closing && reader.isReady) await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  private async lastId(reader: RedisClient): Promise<string> {
    const last = (await reader.sendCommand(['XREVRANGE', this.key, '+', '-', 'COUNT', '1'])) as RawEntry[];
    return last[0]?.[0] ?? '0-0';
  }

  /** The newest id trimmed from the stream (Redis ≥ 7), if any. */
  private async maxDeletedId(): Promise<string | undefined> {
    try {
      const info = await this.client.sendCommand(['XINFO', 'STREAM', this.key]);
      // A flat list of names and values (RESP2) or a map (RESP3).
      if (Array.isArray(info)) {
        const at = info.indexOf('max-deleted-entry-id');
        return at >= 0 ? String(info[at + 1]) : undefined;
      }
      const id = (info as unknown as Record<string, unknown>)['max-deleted-entry-id'];
      return id === undefined ? undefined : String(id);
    } catch {
      // No such stream (a Redis restarted without persistence): nothing can be replayed.
      return undefined;
    }
  }

  private decode([id, fields]: RawEntry): SseHubMessage | undefined {
    const at = fields.indexOf(FIELD);
    try {
      const message = JSON.parse(fields[at + 1]) as SseHubMessage;
      return message.type === 'broadcast' ? { ...message, id } : message;
    } catch (error) {
      this.logger.error(`Stream entry ${id} of ${this.key} is not a hub message and was skipped: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Says once when a connection is lost and once when it is back, rather than at every retry. */
  private watch(client: RedisClient, role: string): void {
    let down = false;
    client.on('error', (error: Error) => {
      if (down || this.closing) return;
      down = true;
      const meanwhile = role === 'reader' ? 'No hub message reaches this instance' : 'Broadcasts are refused';
      this.logger.error(`Redis ${role} connection to ${this.where} failed (${error.message}); retrying. ${meanwhile} until it is back.`);
    });
    client.on('ready', () => {
      if (!down) return;
      down = false;
      this.logger.log(`Redis ${role} connection to ${this.where} is back.`);
    });
  }
}

/** Reconnects after 50 ms, then up to 2 s apart: never gives up while the app runs. */
function backoff(retries: number): number {
  return Math.min(50 * 2 ** retries, 2000);
}

/** The entries of an `XREAD` reply for one stream: a list of [key, entries] (RESP2) or a map (RESP3); none on timeout. */
function entriesOf(reply: unknown): RawEntry[] {
  if (!reply) return [];
  const streams = Array.isArray(reply) ? (reply as Array<[string, RawEntry[]]>).map(([, entries]) => entries) : Object.values(reply as Record<string, RawEntry[]>);
  return streams[0] ?? [];
}

function untilReady(client: RedisClient): Promise<void> {
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`RedisStreamsTransport: ${name} must be a positive integer, got ${String(value)}.`);
  return value;
}

/** The URL without its password, for logs and errors. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

class Deferred {
  resolve!: () => void;
  readonly promise = new Promise<void>((resolve) => (this.resolve = resolve));
}
