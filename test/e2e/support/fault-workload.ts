import { type BroadcastRecord } from './fault-checker';
import { type Settlement, type TurnItem, type TurnMode } from './fault-app';
import { type MatrixInstance } from './fault-instances';
import { CHANNELS, type Random, USERS } from './fault-schedule';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Every call the run makes, in each source's order, and how it settled: the broadcasts of the trace. */
export class Recorder {
  readonly broadcasts: BroadcastRecord[] = [];
  private readonly byValue = new Map<string, BroadcastRecord>();
  private readonly counts = new Map<string, number>();

  /** A call `source` is about to make (its data is `<source>.<n>`, or `value`); `called` says when it was made. */
  add(
    source: string,
    call: Pick<BroadcastRecord, 'channels' | 'users' | 'key' | 'unencodable' | 'refusals'> & {
      value?: string;
    },
  ): BroadcastRecord {
    const index = this.counts.get(source) ?? 0;
    this.counts.set(source, index + 1);
    const { value = `${source}.${index}`, ...rest } = call;
    const record: BroadcastRecord = { value, source, index, calledAt: NaN, outcome: 'pending', ...rest };
    this.broadcasts.push(record);
    this.byValue.set(value, record);
    return record;
  }

  readonly called = (value: string, at: number): void => {
    this.byValue.get(value)!.calledAt = at;
  };

  readonly settled = (
    settlement: Settlement | (Omit<Settlement, 'outcome'> & { outcome: 'rolled-back' }),
  ): void => {
    const record = this.byValue.get(settlement.value)!;
    record.outcome = settlement.outcome;
    record.settledAt = settlement.at;
    if (settlement.error) record.error = settlement.error;
  };

  get pending(): number {
    return this.broadcasts.filter((record) => record.outcome === 'pending').length;
  }
}

/** Where a broadcast goes: mostly `x`, where most clients are; some to `y`, to both, or to an odd (but storable) name. */
export function broadcastChannels(random: Random): string[] {
  const roll = random.float();
  if (roll < 0.7) return [CHANNELS.main];
  if (roll < 0.85) return [CHANNELS.other];
  if (roll < 0.95) return [CHANNELS.main, CHANNELS.other];
  return [random.pick(CHANNELS.odd.filter((channel) => !channel.includes('\0')))];
}

/**
 * Who a broadcast to `channels` goes to, drawn from a stream of its own (so that the
 * workload's other draws stay what they were): mostly everyone in them; some to users, in
 * them or (half of those) in any channel: one user, two, one that has no stream, or one
 * that has and one that has not.
 */
export function broadcastAddress(
  random: Random,
  channels: string[],
): { channels?: string[]; users?: string[] } {
  if (!random.chance(0.3)) return { channels };
  const [u1, u2, u3] = USERS.streams;
  const users = random.pick([[u1], [u2], [u3], [u1, u2], [u2, u3], [USERS.nobody], [u1, USERS.nobody]]);
  return random.chance(0.5) ? { users } : { channels, users };
}

/** What the workload of one run shares: its calls, whether it is over, the keys of app transactions open now. */
export interface Workload {
  readonly seed: number;
  readonly random: Random;
  readonly recorder: Recorder;
  readonly over: boolean;
  /** The idempotency keys of app transactions open now, with their events' channels (a retry sends the same event). */
  readonly openKeys: Map<string, string[]>;
  note(line: string): void;
}

/** How long after its first attempt a refused broadcast with an idempotency key is retried (well within the key's life). */
const RETRY_WINDOW_MS = 1_500;

/**
 * One instance's broadcasts until the workload is over, in turns drawn from the seed: 1-4
 * calls, awaited one by one, or called in one turn and awaited together, or not awaited;
 * some to users (broadcastAddress), some with an idempotency key (a refused one is retried
 * with it), a few to keys that an app transaction holds open, and a few values that cannot
 * be encoded (BigInt, a cycle).
 */
export async function publish(instance: MatrixInstance, work: Workload, refusals: string[]): Promise<void> {
  const random = work.random.fork(`publisher:${instance.name}`);
  const addressing = work.random.fork(`users:${instance.name}`);
  const retries: Array<{ key: string; channels?: string[]; users?: string[]; first: number }> = [];
  for (let turn = 0; !work.over; turn++) {
    const items: TurnItem[] = [];
    const firsts = new Map<string, number>();
    for (let n = random.int(1, 4); n > 0; n--) {
      const retry = retries.shift();
      const bad = retry
        ? undefined
        : random.chance(0.03)
          ? random.pick(['bigint', 'circular'] as const)
          : undefined;
      let channels = retry ? retry.channels : broadcastChannels(random);
      let users = retry?.users;
      if (!retry && !bad) ({ channels, users } = broadcastAddress(addressing, channels!));
      let key = retry?.key;
      if (!retry && !bad && random.chance(0.15)) key = `${instance.name}-${work.seed}-${turn}-${n}`;
      else if (!retry && !bad && work.openKeys.size > 0 && random.chance(0.25)) {
        [key, channels] = random.pick([...work.openKeys]);
        users = undefined;
      }
      const record = work.recorder.add(instance.name, {
        channels,
        users,
        key,
        unencodable: bad !== undefined,
        refusals: key ? [...refusals, 'SseIdempotencyKeyBusyError'] : refusals,
      });
      if (key) firsts.set(record.value, retry?.first ?? Date.now());
      items.push({ value: record.value, channels, users, key, bad });
    }
    const mode = random.pick<TurnMode>(['each', 'fire', 'all']);
    const settled = (settlement: Settlement) => {
      work.recorder.settled(settlement);
      const item = items.find((candidate) => candidate.value === settlement.value)!;
      const first = firsts.get(item.value);
      if (
        settlement.outcome === 'rejected' &&
        item.key &&
        first !== undefined &&
        Date.now() - first < RETRY_WINDOW_MS
      )
        retries.push({ key: item.key, channels: item.channels, users: item.users, first });
    };
    try {
      await instance.turn(items, mode, work.recorder.called, settled);
    } catch (error) {
      work.note(`${instance.name}: a turn failed: ${(error as Error).message.split('\n')[0]}`);
      await sleep(200);
    }
    await sleep(random.int(20, 120));
  }
}

/**
 * Broadcasts from `instance` until one is accepted (the transport may still be coming
 * back), for at most `ms`: a value (or, with `value`, each attempt's value) to every client.
 * With `key`, the attempts are one broadcast.
 */
export async function broadcastSurely(
  instance: MatrixInstance,
  recorder: Recorder,
  ms: number,
  { key, value }: { key?: string; value?: (attempt: number) => string } = {},
): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    const record = recorder.add(instance.name, {
      channels: [CHANNELS.main, CHANNELS.other],
      key,
      value: value?.(attempt),
    });
    let outcome: Settlement['outcome'] | undefined;
    await instance
      .turn(
        [{ value: record.value, channels: record.channels, key }],
        'each',
        recorder.called,
        (settlement) => {
          recorder.settled(settlement);
          outcome = settlement.outcome;
        },
      )
      .catch(() => undefined);
    if (outcome === 'accepted') return true;
    await sleep(250);
  }
  return false;
}
