import { randomUUID } from 'node:crypto';
import { type SsePresence, type SsePresenceChange, type SsePresenceStore } from '../hub';
import { type PresenceNotify, type ThrottledLogger } from '../transport-kit';
import { type PostgresTable } from './postgres-table';

/** Runs one statement on the transport's pool. */
type Run = <Row extends object>(text: string, values?: unknown[]) => Promise<{ rows: Row[] }>;

type SetChange = Extract<SsePresenceChange, { type: 'set' }>;

/** A stream's row as presence reads it (`user_id`: `user` is a reserved word). */
interface Row {
  id: string;
  channels: string[];
  info: string | null;
  user_id: string | null;
}

/**
 * The streams of every instance, in two unlogged tables beside the messages: one row per
 * stream (its instance, channels, info and user, indexed by channel and by user) and one
 * per instance, alive until a time that its heartbeat (every `ttl / 3` ms) moves on.
 * Liveness is judged by the database's clock, so the instances' clocks need not agree. A
 * read keeps the streams of live instances only, so an instance that died without a
 * goodbye drops out within `ttl`; the next heartbeat of a live one deletes its rows (one
 * statement: only one instance gets them, users and all) and hands its hub those that
 * announce (`departed`). This instance's own streams are kept here too, and written again
 * when its heartbeat finds it was taken for dead (then their members are told they are
 * back: `returned`), or after a write failed.
 */
export class PostgresPresence implements SsePresenceStore {
  readonly instance = randomUUID();
  private readonly own = new Map<string, SetChange>();
  /** The latest change of each stream not yet written: a stream, or null for one that went. */
  private queued = new Map<string, SetChange | null>();
  private flushing: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;
  private failing = false;
  private rewrite = false;
  private beaten = false;
  private deliver: PresenceNotify | undefined;

  constructor(
    private readonly table: PostgresTable,
    private readonly run: Run,
    private readonly ttl: number,
    private readonly logger: ThrottledLogger,
  ) {}

  /**
   * Starts the heartbeat, with a first beat now; `deliver` hands the hub the streams whose
   * `join` or `leave` events it should send.
   */
  start(deliver: PresenceNotify): void {
    this.deliver = deliver;
    this.heartbeat = setInterval(() => void this.beat(), Math.max(1, Math.floor(this.ttl / 3))).unref();
    void this.beat();
  }

  update(changes: SsePresenceChange[]): void {
    // With the others of this turn: one statement.
    if (this.queued.size === 0) queueMicrotask(() => void this.flush());
    for (const change of changes) {
      if (change.type === 'set') {
        this.own.set(change.entry.id, change);
        this.queued.set(change.entry.id, change);
      } else {
        this.own.delete(change.id);
        this.queued.set(change.id, null);
      }
    }
  }

  /** Every stream of every live instance, or those of a channel, of a user, or of both, from PostgreSQL. */
  async presence(channel?: string, user?: string): Promise<SsePresence> {
    // This instance's own latest changes first (presence() from onClose, right after a join).
    await this.flush();
    const where: string[] = [];
    const values: string[] = [];
    if (channel !== undefined) where.push(`AND p.channels @> ARRAY[$${values.push(channel)}]::text[]`);
    if (user !== undefined) where.push(`AND p.user_id = $${values.push(user)}`);
    const { rows } = await this.run<Row>(
      `SELECT p.client AS id, p.channels, p.info, p.user_id FROM ${this.table.presence} AS p ` +
        `JOIN ${this.table.instances} AS i USING (instance) WHERE i.alive_until > now() ${where.join(' ')}`,
      values,
    );
    const clients = rows.map(({ id, channels, info, user_id }) => ({
      id,
      channels,
      info: info === null ? undefined : JSON.parse(info),
      user: user_id ?? undefined,
    }));
    return { count: clients.length, clients };
  }

  /** Says this instance is alive (the first time, once the tables are there), and clears up after dead ones. */
  private async beat(): Promise<void> {
    if (this.stopped) return;
    try {
      const rewrite = this.rewrite;
      this.rewrite = false;
      // What PostgreSQL has of this instance may be wrong (a write that failed): start over.
      if (rewrite) await this.run(`DELETE FROM ${this.table.presence} WHERE instance = $1`, [this.instance]);
      const { rows } = await this.run<{ added: boolean }>(
        `INSERT INTO ${this.table.instances} (instance, alive_until) VALUES ($1, now() + $2 * interval '1 millisecond')
         ON CONFLICT (instance) DO UPDATE SET alive_until = EXCLUDED.alive_until RETURNING (xmax = 0) AS added`,
        [this.instance, this.ttl],
      );
      // Not there after the first beat: taken for dead (a heartbeat later than the TTL), or lost in a crash.
      const gone = rows[0]?.added === true && this.beaten;
      if (rewrite || gone) this.update([...this.own.values()].map((change) => ({ ...change, left: [] })));
      // Taken for dead, its streams' members got a leave: they are told they are back
      // (after a crash, that repeats a join).
      if (gone) this.announceOwn();
      this.beaten = true;
      await this.clearDead();
      if (this.failing) this.logger.log('presence-up', 'Presence is recorded in PostgreSQL again.');
      this.failing = false;
    } catch (error) {
      this.failed(error);
    }
  }

  /**
   * Deletes the dead instances and their streams, and hands the hub those that announce,
   * in the channels that no live instance's stream of the same id is in (one taken over).
   * Two instances at it at once: the rows of an instance are deleted, and returned, once.
   */
  private async clearDead(): Promise<void> {
    const { rows } = await this.run<Row>(
      `WITH dead AS (DELETE FROM ${this.table.instances} WHERE alive_until < now() RETURNING instance),
       gone AS (DELETE FROM ${this.table.presence} AS p USING dead WHERE p.instance = dead.instance
         RETURNING p.client, p.channels, p.info, p.announces, p.user_id)
       SELECT g.client AS id, g.info, g.user_id, ARRAY(
         SELECT c FROM unnest(g.channels) AS c WHERE NOT EXISTS (
           SELECT 1 FROM ${this.table.presence} AS q JOIN ${this.table.instances} AS i USING (instance)
           WHERE q.client = g.client AND i.alive_until > now() AND c = ANY (q.channels))
       ) AS channels FROM gone AS g WHERE g.announces`,
    );
    const clients = rows
      .filter((row) => row.channels.length > 0)
      .map(({ id, channels, info, user_id }) => ({
        id,
        channels,
        info: info === null ? null : JSON.parse(info),
        user: user_id ?? undefined,
      }));
    if (clients.length > 0) this.deliver?.({ type: 'departed', clients });
  }

  /** This instance's streams that announce, to the hub: their members got a leave when it was taken for dead. */
  private announceOwn(): void {
    const clients = [...this.own.values()].filter((change) => change.announces).map((change) => change.entry);
    if (clients.length > 0) this.deliver?.({ type: 'returned', clients });
  }

  /** Stops the heartbeat and takes this instance's streams out of presence (on shutdown), waiting at most 2 s. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.min(this.ttl, 2_000))));
    try {
      const goodbye = this.run(
        `WITH gone AS (DELETE FROM ${this.table.instances} WHERE instance = $1) ` +
          `DELETE FROM ${this.table.presence} WHERE instance = $1`,
        [this.instance],
      );
      await Promise.race([goodbye, gaveUp]);
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

  /** Writes the queued changes in one statement: the streams that went are deleted, the others upserted. */
  private flush(): Promise<void> {
    if (this.queued.size === 0) return this.flushing ?? Promise.resolve();
    const changes = this.queued;
    this.queued = new Map();
    const gone: string[] = [];
    const set: Array<{
      id: string;
      channels: string[];
      info: string | null;
      announces: boolean;
      user: string | null;
    }> = [];
    for (const [id, change] of changes) {
      if (change === null) gone.push(id);
      else
        set.push({
          id,
          channels: change.entry.channels,
          info: JSON.stringify(change.entry.info) ?? null,
          announces: change.announces === true,
          user: change.entry.user ?? null,
        });
    }
    const previous = this.flushing;
    // After the previous flush: changes are written in the order they were made.
    const flushing = (async () => {
      await previous;
      try {
        await this.run(
          `WITH gone AS (DELETE FROM ${this.table.presence} WHERE instance = $1 AND client = ANY($2::text[]))
           INSERT INTO ${this.table.presence} (instance, client, channels, info, announces, user_id)
           SELECT $1, s.id, ARRAY(SELECT jsonb_array_elements_text(s.channels)), s.info, s.announces, s."user"
           FROM jsonb_to_recordset($3::jsonb)
             AS s(id text, channels jsonb, info text, announces boolean, "user" text)
           ON CONFLICT (instance, client) DO UPDATE SET channels = EXCLUDED.channels, info = EXCLUDED.info,
             announces = EXCLUDED.announces, user_id = EXCLUDED.user_id`,
          [this.instance, gone, JSON.stringify(set)],
        );
      } catch (error) {
        this.failed(error);
      }
    })();
    this.flushing = flushing;
    void flushing.then(() => {
      if (this.flushing === flushing) this.flushing = undefined;
    });
    return flushing;
  }

  private failed(error: unknown): void {
    // Written again in full at the next heartbeat that works.
    this.rewrite = true;
    if (this.failing || this.stopped) return;
    this.failing = true;
    this.logger.error(
      'presence-down',
      `Presence could not be recorded in PostgreSQL (${(error as Error).message}); ` +
        'it is written again when PostgreSQL is back.',
    );
  }
}
