import { randomInt } from 'node:crypto';

/**
 * The fault matrix's schedules: a seeded PRNG, the faults, and the schedule a seed draws
 * (which faults, when, on what; the clients; the history's length). The same seed draws
 * the same schedule and the same workload; the timing of a run is the machine's.
 */

/** mulberry32: a tiny PRNG, good enough to draw schedules, the same for a seed everywhere. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Random {
  private readonly next: () => number;

  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }

  float(): number {
    return this.next();
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** A key of `weights`, drawn in proportion to its weight. */
  weighted<K extends string>(weights: Partial<Record<K, number>>): K {
    const entries = Object.entries(weights) as Array<[K, number]>;
    let roll = this.next() * entries.reduce((sum, [, weight]) => sum + weight, 0);
    for (const [key, weight] of entries) if ((roll -= weight) < 0) return key;
    return entries[entries.length - 1][0];
  }

  /** A stream of its own for `label` (FNV-1a of it, mixed with the seed): one source's draws do not depend on another's. */
  fork(label: string): Random {
    let hash = 0x811c9dc5 ^ this.seed;
    for (const char of label) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
    return new Random(hash >>> 0);
  }
}

/** An instance's name (`A`, `B`, `C`), or every instance. */
export type Target = string;

export type Fault =
  /** Resets every server connection of the target's instances (RST). */
  | { kind: 'cut'; target: Target }
  /** Cuts, then resets new connections for `ms`: the server looks down. */
  | { kind: 'refuse'; target: Target; ms: number }
  /** Holds every byte both ways for `ms`. */
  | { kind: 'stall'; target: Target; ms: number }
  /** Delivers every chunk `delayMs` late for `ms`. */
  | { kind: 'slow'; target: Target; ms: number; delayMs: number }
  /** Stops the instance in a process of its own (SIGSTOP) for `ms`, past the presence TTL, then SIGCONT. */
  | { kind: 'sigstop'; ms: number }
  /** Restarts the server, with its data or empty. */
  | { kind: 'restart'; keepData: boolean }
  /** Redis forgets its scripts (SCRIPT FLUSH). */
  | { kind: 'script-flush' }
  /** Redis Cluster: the stream's master hands over to its replica (CLUSTER FAILOVER on the replica). */
  | { kind: 'failover' }
  /** Redis Cluster: the stream's master is killed; its replica is promoted; it comes back as a replica. */
  | { kind: 'kill-master' }
  /** PostgreSQL: the listeners' backends are terminated (pg_terminate_backend). */
  | { kind: 'terminate-listener' }
  /** PostgreSQL: every backend of the transports is terminated. */
  | { kind: 'terminate-backends' }
  /** Client `client` reconnects to instance `to` with the last id it received. */
  | { kind: 'hop'; client: number; to: string }
  /** Client `client` goes for good. */
  | { kind: 'leave'; client: number }
  /** A new client (of `user`, if given) opens a stream on `on`. */
  | { kind: 'arrive'; on: string; channels: string[]; user?: string }
  /**
   * A new client of `user` (or of none) opens a stream on `on` with a Last-Event-ID taken
   * from client `from`'s stream, another user's, as an attacker would: what it is replayed
   * must still be its own.
   */
  | { kind: 'steal'; on: string; channels: string[]; user?: string; from: number }
  /** `SseHub.closeUser(user)` on instance `from`: every stream of `user` ends, and reconnects. */
  | { kind: 'close-user'; user: string; from: string };

export type FaultKind = Fault['kind'];

/** What clients and users do, drawn on every transport. */
type ClientFaultKind = 'hop' | 'leave' | 'arrive' | 'steal' | 'close-user';

/** Faults on the server itself: run one at a time (a restart does not start while a failover runs). */
export const SERVER_FAULTS: ReadonlySet<FaultKind> = new Set([
  'restart',
  'failover',
  'kill-master',
  'script-flush',
  'terminate-listener',
  'terminate-backends',
]);

/** What a transport's matrix may draw from. */
export interface ScheduleShape {
  instances: string[];
  /** The instance in a process of its own, if any (the one SIGSTOP stops). */
  processInstance?: string;
  /** Weights of the faults this transport offers (client churn and users' faults are always drawn). */
  faults: Partial<Record<Exclude<FaultKind, ClientFaultKind>, number>>;
  presenceTtl: number;
  /** Whether a restart keeps the server's data (undefined: drawn, either way). */
  restartKeepsData?: boolean;
  /** The history's length: `small` makes a lagging reader miss what was trimmed. */
  maxLen: { normal: number; small: number };
}

export interface Schedule {
  seed: number;
  /** How long faults are injected; the workload runs as long, and a little after. */
  windowMs: number;
  maxLen: number;
  /** Each client's instance, channels and user (none: a stream without a user). */
  clients: Array<{ on: string; channels: string[]; user?: string }>;
  faults: Array<{ at: number; fault: Fault }>;
}

export const CHANNELS = { main: 'x', other: 'y', odd: ['sp ace ✓ "q"', 'ünï/çødé', 'with\u0000nul'] };

/**
 * The users of the matrix's streams (one id that a transport must carry as it is), and
 * one that no stream has: a broadcast to it reaches nobody.
 */
export const USERS = { streams: ['u1', 'u2', 'ünï "3"'], nobody: 'ghost' };

function drawChannels(random: Random): string[] {
  const roll = random.float();
  if (roll < 0.45) return [CHANNELS.main];
  if (roll < 0.7) return [CHANNELS.main, CHANNELS.other];
  if (roll < 0.85) return [CHANNELS.other];
  return [CHANNELS.main, random.pick(CHANNELS.odd)];
}

/** Without a channel a route may refuse (NUL): a thief that is refused tests nothing. */
const storable = (channels: string[]) => channels.filter((channel) => !channel.includes('\0'));

/** The schedule of `seed` for a transport of this shape. */
export function drawSchedule(seed: number, shape: ScheduleShape): Schedule {
  const random = new Random(seed).fork('schedule');
  const windowMs = random.int(6_000, 10_000);
  const maxLen = random.chance(0.35) ? shape.maxLen.small : shape.maxLen.normal;
  const clients = Array.from({ length: random.int(4, 6) }, (_, i) => ({
    on: shape.instances[i % shape.instances.length],
    channels: drawChannels(random),
  }));
  const faults: Schedule['faults'] = [];
  const at = (duration = 0) => random.int(0, Math.max(0, windowMs - duration));
  const kinds = Object.keys(shape.faults).length;
  for (let n = kinds === 0 ? 0 : random.int(2, 5); n > 0; n--) {
    const kind = random.weighted(shape.faults);
    const target = random.chance(0.4) ? 'all' : random.pick(shape.instances);
    const fault = ((): Fault => {
      switch (kind) {
        case 'refuse':
          return { kind, target, ms: random.int(300, 2_000) };
        case 'stall':
          return { kind, target, ms: random.int(500, 3_500) };
        case 'slow':
          return { kind, target, ms: random.int(1_000, 3_000), delayMs: random.int(20, 150) };
        case 'sigstop':
          return { kind, ms: shape.presenceTtl + random.int(500, 1_500) };
        case 'restart':
          return { kind, keepData: shape.restartKeepsData ?? random.chance(0.5) };
        case 'cut':
          return { kind, target };
        default:
          return { kind } as Fault;
      }
    })();
    faults.push({ at: at('ms' in fault ? fault.ms : 0), fault });
  }
  for (let n = random.int(2, 4); n > 0; n--)
    faults.push({
      at: at(),
      fault: { kind: 'hop', client: random.int(0, clients.length - 1), to: random.pick(shape.instances) },
    });
  if (random.chance(0.5))
    faults.push({ at: at(), fault: { kind: 'leave', client: random.int(0, clients.length - 1) } });
  for (let n = random.int(0, 2); n > 0; n--)
    faults.push({
      at: at(),
      fault: { kind: 'arrive', on: random.pick(shape.instances), channels: drawChannels(random) },
    });
  drawUsers(new Random(seed).fork('users'), shape, windowMs, clients, faults);
  faults.sort((a, b) => a.at - b.at);
  return { seed, windowMs, maxLen, clients, faults };
}

/**
 * Who the clients are, and what users do: drawn from a stream of their own (`users`), so
 * that a seed's schedule is otherwise what it was before streams had users. The first two
 * clients are one user (on two instances, where there are two), the third has no user,
 * the others are drawn; arrivals are drawn too. One or two thieves arrive with a
 * Last-Event-ID taken from another user's client, and in most schedules one user is
 * closed (`closeUser`) from some instance while the faults run.
 */
function drawUsers(
  random: Random,
  shape: ScheduleShape,
  windowMs: number,
  clients: Schedule['clients'],
  faults: Schedule['faults'],
): void {
  const someone = () => (random.chance(0.25) ? undefined : random.pick(USERS.streams));
  clients.forEach((client, i) => (client.user = i < 2 ? USERS.streams[0] : i === 2 ? undefined : someone()));
  for (const { fault } of faults) if (fault.kind === 'arrive') fault.user = someone();
  const at = () => random.int(0, windowMs);
  for (let n = random.int(1, 2); n > 0; n--) {
    const from = random.pick(clients.flatMap((client, i) => (client.user === undefined ? [] : [i])));
    const victim = clients[from].user;
    const user = random.pick([undefined, ...USERS.streams].filter((other) => other !== victim));
    faults.push({
      at: at(),
      fault: {
        kind: 'steal',
        on: random.pick(shape.instances),
        channels: storable(drawChannels(random)),
        user,
        from,
      },
    });
  }
  if (random.chance(0.6)) {
    const users = [...new Set(clients.map((client) => client.user).filter((user) => user !== undefined))];
    faults.push({
      at: random.int(Math.floor(windowMs * 0.2), Math.floor(windowMs * 0.8)),
      fault: { kind: 'close-user', user: random.pick(users), from: random.pick(shape.instances) },
    });
  }
}

/** One line per fault, for a failure's report. */
export function describeSchedule(schedule: Schedule): string {
  const clients = schedule.clients
    .map(
      (client, i) =>
        `c${i}@${client.on}[${client.channels.map((c) => JSON.stringify(c)).join(',')}]` +
        (client.user === undefined ? '' : `{${JSON.stringify(client.user)}}`),
    )
    .join(' ');
  const faults = schedule.faults.map(({ at, fault }) => {
    const { kind, ...rest } = fault;
    return `    +${at} ms ${kind} ${Object.entries(rest)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ')}`;
  });
  return `  window ${schedule.windowMs} ms, maxLen ${schedule.maxLen}, clients ${clients}\n${faults.join('\n')}`;
}

/** How many schedules to run: given seeds, a count, or minutes per transport. */
export interface RunPlan {
  seeds?: number[];
  /** The seeds were given (FAULT_SEED): run those, and no other. */
  given?: boolean;
  minutes?: number;
}

/**
 * From the environment: FAULT_SEED (one seed, or several, comma-separated), FAULT_SCHEDULES
 * (that many fresh seeds), FAULT_MINUTES (fresh seeds for that long, per transport);
 * `npm run test:faults` alone runs 5 minutes per transport; otherwise (`npm test`) the
 * transport's CI seeds: fixed, so that CI runs the same schedules every time, while
 * `test:faults` draws fresh ones.
 */
export function planRuns(ciSeeds: readonly number[]): RunPlan {
  const env = process.env;
  if (env.FAULT_SEED)
    return { seeds: env.FAULT_SEED.split(',').map((seed) => Number(seed.trim())), given: true };
  if (env.FAULT_SCHEDULES) return { seeds: Array.from({ length: Number(env.FAULT_SCHEDULES) }, freshSeed) };
  if (env.FAULT_MINUTES) return { minutes: Number(env.FAULT_MINUTES) };
  if (env.npm_lifecycle_event === 'test:faults') return { minutes: 5 };
  return { seeds: [...ciSeeds] };
}

export function freshSeed(): number {
  return randomInt(1, 2 ** 31 - 1);
}

/** Whether FAULT_TRANSPORT (unset: all) names this transport's matrix. */
export function transportSelected(name: string): boolean {
  return !process.env.FAULT_TRANSPORT || process.env.FAULT_TRANSPORT === name;
}

export function replayHint(seed: number, transport: string): string {
  return `FAULT_SEED=${seed} FAULT_TRANSPORT=${transport} npm run test:faults`;
}
