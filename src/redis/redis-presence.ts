import { randomUUID } from 'node:crypto';
import { type Logger } from '@nestjs/common';
import { type SsePresence, type SsePresenceChange, type SsePresenceEntry } from '../hub';
import { keyBeside } from './keys';
import { type RedisConnection } from './redis-connection';

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
    private readonly logger: Logger,
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
    try {
      await this.clear(this.instance);
    } catch (error) {
      this.logger.error(`This instance's streams could not be taken out of presence (they drop out within ${this.ttl} ms): ${(error as Error).message}`);
    }
  }

  private async flush(): Promise<void> {
    const changes = this.queued;
    this.queued = [];
    if (!this.client.isReady) return this.failed(new Error('not connected'));
    const commands: string[][] = [];
    for (const change of changes) {
      if (change.type === 'set') {
        const json = JSON.stringify({ i: this.instance, c: change.entry.channels, info: change.entry.info } satisfies StoredEntry);
        commands.push(['HSET', this.key('presence'), change.entry.id, json], ['HSET', this.key(`instance:${this.instance}`), change.entry.id, JSON.stringify(change.entry.channels)]);
        for (const channel of change.entry.channels) commands.push(['HSET', this.key(`presence:${channel}`), change.entry.id, json]);
        for (const channel of change.left) commands.push(['HDEL', this.key(`presence:${channel}`), change.entry.id]);
      } else {
        commands.push(['HDEL', this.key('presence'), change.id], ['HDEL', this.key(`instance:${this.instance}`), change.id]);
        for (const channel of change.channels) commands.push(['HDEL', this.key(`presence:${channel}`), change.id]);
      }
    }
    try {
      // Sent in one go: node-redis pipelines what is sent in one turn.
      await Promise.all(commands.map((command) => this.client.send(command[1], command)));
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
      await this.client.send(this.key('instances'), ['ZADD', this.key('instances'), String(Date.now() + this.ttl), this.instance]);
      if (rewrite) this.update([...this.own.values()].map((entry) => ({ type: 'set', entry, left: [] })));
      const dead = (await this.client.send(this.key('instances'), ['ZRANGE', this.key('instances'), '-inf', String(Date.now()), 'BYSCORE'])) as string[];
      for (const instance of dead) await this.clear(instance);
      if (this.failing) this.logger.log('Presence is recorded in Redis again.');
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
    this.logger.error(`Presence could not be recorded in Redis (${(error as Error).message}); it is written again when Redis is back.`);
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
