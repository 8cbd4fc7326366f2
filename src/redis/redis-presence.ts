import { createHash, randomUUID } from 'node:crypto';
import { type ThrottledLogger } from '../hub/throttled-logger';
import { type SsePresence, type SsePresenceChange, type SsePresenceEntry } from '../hub';
import { keyBeside } from './keys';
import { type RedisConnection } from './redis-connection';

/**
 * Applies one flush of presence changes atomically, so that a connection cut part-way
 * cannot leave a stream in a channel's hash that its instance's record no longer names.
 * KEYS: the hashes touched; ARGV: ('S', key index, field, value) or ('D', key index, field).
 */
const APPLY_SCRIPT = `
local i = 1
while i <= #ARGV do
  local key = KEYS[tonumber(ARGV[i + 1])]
  if ARGV[i] == 'S' then
    redis.call('HSET', key, ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  else
    redis.call('HDEL', key, ARGV[i + 2])
    i = i + 3
  end
end
return 1
`;
const APPLY_SCRIPT_SHA = createHash('sha1').update(APPLY_SCRIPT).digest('hex');

/** What is stored for one stream: its instance, its channels and its info. */
interface StoredEntry {
  i: string;
  c: string[];
  info: unknown;
}

/**
 * The streams of every instance, kept in Redis beside the stream's own keys (one hash
 * slot, so it works on a Redis Cluster):
 * - `presence`: a hash of every stream (id → instance, channels, info), and one hash per
 *   channel (`presence:<channel>`), so that a channel's presence is read without
 *   scanning the others;
 * - `instances`: a sorted set of the instances, scored by when they are dead unless they
 *   say otherwise (each says so every `ttl / 3` ms);
 * - `instance:<id>`: each instance's streams and their channels, to clear up after it.
 *
 * A read keeps only the streams of live instances, so an instance that died without a
 * goodbye drops out of presence within `ttl`; the next heartbeat of a live one removes
 * its entries. Clocks of the instances are assumed to agree within a fraction of `ttl`.
 * This instance's own streams are kept here too, and written again after Redis comes
 * back (it may have restarted empty).
 */
export class RedisPresence {
  readonly instance = randomUUID();
  private readonly own = new Map<string, SsePresenceEntry>();
  private queued: SsePresenceChange[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;
  private failing = false;
  private rewrite = false;

  constructor(
    private readonly client: RedisConnection,
    private readonly stream: string,
    private readonly ttl: number,
    private readonly logger: ThrottledLogger,
  ) {}

  start(): void {
    this.heartbeat = setInterval(() => void this.beat(), Math.max(1, Math.floor(this.ttl / 3)));
    this.heartbeat.unref();
    void this.beatWhenReady();
    // Redis may have restarted empty while it was away: write this instance's streams again.
    this.client.onReady(() => {
      this.rewrite = true;
      void this.beatWhenReady();
    });
  }

  /** The first heartbeat as soon as Redis is there, not a third of the TTL later (a cluster is ready after its nodes say so). */
  private async beatWhenReady(): Promise<void> {
    while (!this.client.isReady && !this.stopped) await this.client.untilReady();
    if (!this.stopped) await this.beat();
  }

  update(changes: SsePresenceChange[]): void {
    for (const change of changes) {
      if (change.type === 'set') this.own.set(change.entry.id, change.entry);
      else this.own.delete(change.id);
    }
    // With the others of this turn: one round trip.
    if (this.queued.length === 0) queueMicrotask(() => void this.flush());
    this.queued.push(...changes);
  }

  async query(channel?: string): Promise<SsePresence> {
    // This instance's own latest changes first (presence() from onClose, right after a join).
    await this.flush();
    const [stored, alive] = await Promise.all([
      this.client.send(this.key('presence'), ['HGETALL', this.key(channel === undefined ? 'presence' : `presence:${channel}`)]),
      this.client.send(this.key('instances'), ['ZRANGE', this.key('instances'), `(${Date.now()}`, '+inf', 'BYSCORE']) as Promise<string[]>,
    ]);
    const live = new Set(alive);
    const clients: SsePresenceEntry[] = [];
    for (const [id, json] of pairs(stored)) {
      const entry = JSON.parse(json) as StoredEntry;
      if (live.has(entry.i)) clients.push({ id, channels: entry.c, info: entry.info });
    }
    return { count: clients.length, clients };
  }

  /** Stops the heartbeat and takes this instance's streams out of presence (on shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    if (!this.client.isReady) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      // Bounded: a Redis that does not answer must not hold up the app's shutdown (the entries drop out within the TTL anyway).
      const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.min(this.ttl, 2_000))));
      await Promise.race([this.clear(this.instance), gaveUp]);
    } catch (error) {
      this.logger.error('presence-stop', `This instance's streams could not be taken out of presence (they drop out within ${this.ttl} ms): ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private async flush(): Promise<void> {
    const changes = this.queued;
    this.queued = [];
    if (changes.length === 0) return;
    if (!this.client.isReady) return this.failed(new Error('not connected'));
    const keys: string[] = [];
    const indexOf = new Map<string, number>();
    const key = (suffix: string) => {
      const name = this.key(suffix);
      let index = indexOf.get(name);
      if (index === undefined) indexOf.set(name, (index = keys.push(name)));
      return String(index);
    };
    const args: string[] = [];
    for (const change of changes) {
      if (change.type === 'set') {
        const json = JSON.stringify({ i: this.instance, c: change.entry.channels, info: change.entry.info } satisfies StoredEntry);
        args.push('S', key('presence'), change.entry.id, json, 'S', key(`instance:${this.instance}`), change.entry.id, JSON.stringify(change.entry.channels));
        for (const channel of change.entry.channels) args.push('S', key(`presence:${channel}`), change.entry.id, json);
        for (const channel of change.left) args.push('D', key(`presence:${channel}`), change.entry.id);
      } else {
        args.push('D', key('presence'), change.id, 'D', key(`instance:${this.instance}`), change.id);
        for (const channel of change.channels) args.push('D', key(`presence:${channel}`), change.id);
      }
    }
    try {
      await this.client.evalScript(APPLY_SCRIPT, APPLY_SCRIPT_SHA, keys, args);
    } catch (error) {
      this.failed(error);
    }
  }

  /** Says this instance is alive, clears up after dead ones, and writes its streams again if Redis lost them. */
  private async beat(): Promise<void> {
    if (!this.client.isReady) return;
    try {
      // What Redis has of this instance may be wrong (a removal that failed) or gone (a restart): start over.
      const rewrite = this.rewrite;
      this.rewrite = false;
      if (rewrite) await this.clear(this.instance);
      const added = await this.client.send(this.key('instances'), ['ZADD', this.key('instances'), String(Date.now() + this.ttl), this.instance]);
      // Not there: another instance took it for dead (a heartbeat later than the TTL) and cleared its streams.
      if (rewrite || added === 1) this.update([...this.own.values()].map((entry) => ({ type: 'set', entry, left: [] })));
      const dead = (await this.client.send(this.key('instances'), ['ZRANGE', this.key('instances'), '-inf', String(Date.now()), 'BYSCORE'])) as string[];
      for (const instance of dead) await this.clear(instance);
      if (this.failing) this.logger.log('presence-up', 'Presence is recorded in Redis again.');
      this.failing = false;
    } catch (error) {
      this.failed(error);
    }
  }

  /** Removes an instance's streams from presence, and the instance. */
  private async clear(instance: string): Promise<void> {
    const streams = pairs(await this.client.send(this.key('instances'), ['HGETALL', this.key(`instance:${instance}`)]));
    const commands: string[][] = [];
    for (const [id, channels] of streams) {
      commands.push(['HDEL', this.key('presence'), id]);
      for (const channel of JSON.parse(channels) as string[]) commands.push(['HDEL', this.key(`presence:${channel}`), id]);
    }
    commands.push(['DEL', this.key(`instance:${instance}`)], ['ZREM', this.key('instances'), instance]);
    await Promise.all(commands.map((command) => this.client.send(command[1], command)));
  }

  private failed(error: unknown): void {
    // Written again in full when Redis is back.
    this.rewrite = true;
    if (this.failing) return;
    this.failing = true;
    this.logger.error('presence-down', `Presence could not be recorded in Redis (${(error as Error).message}); it is written again when Redis is back.`);
  }

  private key(suffix: string): string {
    return keyBeside(this.stream, suffix);
  }
}

/** The field-value pairs of an HGETALL reply: a flat list (RESP2) or a map (RESP3). */
function pairs(reply: unknown): Array<[string, string]> {
  if (!reply) return [];
  if (!Array.isArray(reply)) return Object.entries(reply as Record<string, string>);
  const result: Array<[string, string]> = [];
  for (let i = 0; i < reply.length; i += 2) result.push([String(reply[i]), String(reply[i + 1])]);
  return result;
}
