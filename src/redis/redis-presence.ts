import { randomUUID } from 'node:crypto';
import {
  type SsePresence,
  type SsePresenceChange,
  type SsePresenceEntry,
  type SsePresenceStore,
} from '../hub';
import { type ConnectionWatch, type PresenceNotify, type ThrottledLogger } from '../transport-kit';
import { keyBeside } from './keys';
import { APPLY_SCRIPT, CLAIM_SCRIPT } from './presence-scripts';
import { isUnavailable, type RedisConnection } from './redis-connection';

/**
 * What is stored for one stream: its instance, its channels, its info, its user (`u`, only
 * with one) and whether it announces (`a`, only if so).
 */
interface StoredEntry {
  i: string;
  c: string[];
  info: unknown;
  u?: string;
  a?: true;
}

type SetChange = Extract<SsePresenceChange, { type: 'set' }>;
/** A change as it waits to be written: a stream that went names its user too, whose index it leaves. */
type QueuedChange = SetChange | (Extract<SsePresenceChange, { type: 'remove' }> & { user?: string });

/**
 * The streams of every instance, kept in Redis beside the stream's own keys (one hash
 * slot, so it works on a Redis Cluster):
 * - `presence`: a hash of every stream (id → instance, channels, info, user), one hash per
 *   channel (`presence:<channel>`) and one per user (`presence-user:<user>`, the same
 *   entries), so that a channel's or a user's presence is read without scanning the others;
 * - `instances`: a sorted set of the instances, scored by when they are dead unless they
 *   say otherwise (each says so every `ttl / 3` ms);
 * - `instance:<id>`: each instance's streams and their channels, to clear up after it.
 *
 * A read keeps only the streams of live instances, so an instance that died without a
 * goodbye drops out of presence within `ttl`; the next heartbeat of a live one removes
 * its entries (a script: only one instance gets them) and hands its hub those that
 * announce (`departed`). Clocks of the instances are assumed to agree within a fraction
 * of `ttl`. This instance's own streams are kept here too, and written again after Redis
 * comes back (it may have restarted empty) or when it finds it was taken for dead (then
 * their members are told they are back: `returned`).
 */
export class RedisPresence implements SsePresenceStore {
  readonly instance = randomUUID();
  private readonly own = new Map<string, SetChange>();
  private queued: QueuedChange[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;
  private failing = false;
  private rewrite = false;
  /** Whether this instance has been recorded as alive: if it is not any more, it was taken for dead. */
  private beaten = false;
  private deliver: PresenceNotify | undefined;

  constructor(
    private readonly client: RedisConnection,
    private readonly stream: string,
    private readonly ttl: number,
    private readonly logger: ThrottledLogger,
    /** The transport's connections: what a read that cannot reach Redis rejects with. */
    private readonly links: ConnectionWatch<string>,
  ) {}

  /** Starts the heartbeat; `deliver` hands the hub the streams whose `join` or `leave` events it should send. */
  start(deliver: PresenceNotify): void {
    this.deliver = deliver;
    this.heartbeat = setInterval(() => void this.beat(), Math.max(1, Math.floor(this.ttl / 3)));
    this.heartbeat.unref();
    void this.beatWhenReady();
    // Redis may have restarted empty while it was away: write this instance's streams again.
    this.client.onReady(() => {
      this.rewrite = true;
      void this.beatWhenReady();
    });
  }

  /**
   * The first heartbeat as soon as Redis is there, not a third of the TTL later (a cluster
   * is ready after its nodes say so).
   */
  private async beatWhenReady(): Promise<void> {
    while (!this.client.isReady && !this.stopped) await this.client.untilReady();
    if (!this.stopped) await this.beat();
  }

  update(changes: SsePresenceChange[]): void {
    // With the others of this turn: one round trip.
    if (this.queued.length === 0) queueMicrotask(() => void this.flush());
    for (const change of changes) {
      if (change.type === 'set') {
        this.own.set(change.entry.id, change);
        this.queued.push(change);
      } else {
        // A removal names no user: the stream's own entry does, while it is still here.
        const user = this.own.get(change.id)?.entry.user;
        this.own.delete(change.id);
        this.queued.push(user === undefined ? change : { ...change, user });
      }
    }
  }

  /** Every stream of every live instance, or those of a channel, of a user, or of both, read from Redis. */
  async presence(channel?: string, user?: string): Promise<SsePresence> {
    if (!this.client.isReady) throw this.links.unavailable(new Error('not connected'));
    try {
      return await this.read(channel, user);
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      throw this.links.unavailable(error);
    }
  }

  private async read(channel: string | undefined, user: string | undefined): Promise<SsePresence> {
    // This instance's own latest changes first (presence() from onClose, right after a join).
    await this.flush();
    // A user's streams are few (their devices): with a channel too, they are read and filtered.
    const index =
      user !== undefined
        ? `presence-user:${user}`
        : channel !== undefined
          ? `presence:${channel}`
          : 'presence';
    const [stored, alive] = await Promise.all([
      this.client.send(this.key('presence'), ['HGETALL', this.key(index)]),
      this.client.send(this.key('instances'), [
        'ZRANGE',
        this.key('instances'),
        `(${Date.now()}`,
        '+inf',
        'BYSCORE',
      ]) as Promise<string[]>,
    ]);
    const live = new Set(alive);
    const clients: SsePresenceEntry[] = [];
    for (const [id, json] of pairs(stored)) {
      const entry = JSON.parse(json) as StoredEntry;
      if (!live.has(entry.i) || (user !== undefined && channel !== undefined && !entry.c.includes(channel)))
        continue;
      clients.push({ id, channels: entry.c, info: entry.info, user: entry.u });
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
      // Bounded: a Redis that does not answer must not hold up the app's shutdown
      // (the entries drop out within the TTL anyway).
      const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.min(this.ttl, 2_000))));
      await Promise.race([this.clear(this.instance), gaveUp]);
    } catch (error) {
      this.logger.error(
        'presence-stop',
        `This instance's streams could not be taken out of presence (they drop out within ${this.ttl} ms): ` +
          (error as Error).message,
      );
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
        const { user } = change.entry;
        const stored: StoredEntry = {
          i: this.instance,
          c: change.entry.channels,
          info: change.entry.info,
          ...(user !== undefined && { u: user }),
          ...(change.announces && { a: true }),
        };
        const json = JSON.stringify(stored);
        args.push(
          'S',
          key('presence'),
          change.entry.id,
          json,
          'S',
          key(`instance:${this.instance}`),
          change.entry.id,
          JSON.stringify(change.entry.channels),
        );
        for (const channel of change.entry.channels)
          args.push('S', key(`presence:${channel}`), change.entry.id, json);
        for (const channel of change.left) args.push('D', key(`presence:${channel}`), change.entry.id);
        // A stream's user never changes: its entry there is only kept up to date.
        if (user !== undefined) args.push('S', key(`presence-user:${user}`), change.entry.id, json);
      } else {
        args.push('D', key('presence'), change.id, 'D', key(`instance:${this.instance}`), change.id);
        for (const channel of change.channels) args.push('D', key(`presence:${channel}`), change.id);
        if (change.user !== undefined) args.push('D', key(`presence-user:${change.user}`), change.id);
      }
    }
    try {
      await this.client.evalScript(APPLY_SCRIPT, keys, args);
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
      const recorded = rewrite ? await this.clear(this.instance) : true;
      const added = await this.client.send(this.key('instances'), [
        'ZADD',
        this.key('instances'),
        String(Date.now() + this.ttl),
        this.instance,
      ]);
      // Not there: another instance took it for dead (a heartbeat later than the TTL) and cleared its streams.
      if (rewrite || added === 1)
        this.update([...this.own.values()].map((change) => ({ ...change, left: [] })));
      // ...and sent their members a leave: they are told it is back (as after a Redis that
      // restarted empty, where that repeats a join).
      if (this.beaten && (rewrite ? !recorded : added === 1)) this.announceOwn();
      this.beaten = true;
      const dead = (await this.client.send(this.key('instances'), [
        'ZRANGE',
        this.key('instances'),
        '-inf',
        String(Date.now()),
        'BYSCORE',
      ])) as string[];
      for (const instance of dead) await this.claim(instance);
      if (this.failing) this.logger.log('presence-up', 'Presence is recorded in Redis again.');
      this.failing = false;
    } catch (error) {
      this.failed(error);
    }
  }

  /**
   * Takes a dead instance's streams out of presence, unless another instance did, and
   * hands the hub those that announce.
   */
  private async claim(instance: string): Promise<void> {
    const streams = pairs(
      await this.client.send(this.key('instances'), ['HGETALL', this.key(`instance:${instance}`)]),
    );
    const channels = new Set<string>();
    for (const [, list] of streams) for (const channel of JSON.parse(list) as string[]) channels.add(channel);
    const names = [...channels];
    const users = [...new Set((await this.usersOf(streams.map(([id]) => id))).values())];
    const keys = [
      this.key('instances'),
      this.key(`instance:${instance}`),
      this.key('presence'),
      ...names.map((channel) => this.key(`presence:${channel}`)),
      ...users.map((user) => this.key(`presence-user:${user}`)),
    ];
    const reply = (await this.client.evalScript(CLAIM_SCRIPT, keys, [
      instance,
      String(Date.now()),
      String(names.length),
      ...names,
      ...users,
    ])) as string[];
    const departed = new Map<string, SsePresenceEntry>();
    for (let i = 0; i < reply.length; i += 3) {
      const [id, channel, json] = [String(reply[i]), String(reply[i + 1]), String(reply[i + 2])];
      let client = departed.get(id);
      if (!client) {
        const { info, u } = JSON.parse(json) as StoredEntry;
        departed.set(id, (client = { id, channels: [], info: info ?? null, user: u }));
      }
      client.channels.push(channel);
    }
    if (departed.size > 0) this.deliver?.({ type: 'departed', clients: [...departed.values()] });
  }

  /** This instance's streams that announce, to the hub: their members got a leave when it was taken for dead. */
  private announceOwn(): void {
    const clients = [...this.own.values()].filter((change) => change.announces).map((change) => change.entry);
    if (clients.length > 0) this.deliver?.({ type: 'returned', clients });
  }

  /** Removes an instance's streams from presence, and the instance; resolves whether the instance was recorded. */
  private async clear(instance: string): Promise<boolean> {
    const streams = pairs(
      await this.client.send(this.key('instances'), ['HGETALL', this.key(`instance:${instance}`)]),
    );
    // Read before their entries go: the instance's record names their channels, not their users.
    const users = await this.usersOf(streams.map(([id]) => id));
    const commands: string[][] = [];
    for (const [id, channels] of streams) {
      commands.push(['HDEL', this.key('presence'), id]);
      for (const channel of JSON.parse(channels) as string[])
        commands.push(['HDEL', this.key(`presence:${channel}`), id]);
      const user = users.get(id);
      if (user !== undefined) commands.push(['HDEL', this.key(`presence-user:${user}`), id]);
    }
    commands.push(['DEL', this.key(`instance:${instance}`)], ['ZREM', this.key('instances'), instance]);
    const replies = await Promise.all(commands.map((command) => this.client.send(command[1], command)));
    return replies.at(-1) === 1;
  }

  /**
   * The users of the streams `ids`, as their entries in `presence` name them (an
   * instance's record keeps their channels only, as earlier versions wrote it).
   */
  private async usersOf(ids: string[]): Promise<Map<string, string>> {
    const users = new Map<string, string>();
    if (ids.length === 0) return users;
    const entries = (await this.client.send(this.key('presence'), [
      'HMGET',
      this.key('presence'),
      ...ids,
    ])) as Array<string | null>;
    entries.forEach((json, n) => {
      const user = json === null ? undefined : (JSON.parse(json) as StoredEntry).u;
      if (user !== undefined) users.set(ids[n], user);
    });
    return users;
  }

  private failed(error: unknown): void {
    // Written again in full when Redis is back.
    this.rewrite = true;
    if (this.failing) return;
    this.failing = true;
    this.logger.error(
      'presence-down',
      `Presence could not be recorded in Redis (${(error as Error).message}); it is written again when Redis is back.`,
    );
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
