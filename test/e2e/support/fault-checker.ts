import { compareEventIds } from '../../../src/hub/event-id';

/**
 * The one checker of the fault matrix: pure functions over a trace of one run (what was
 * broadcast, how each call settled, what every client received), so that it can be
 * tested on hand-made traces (test/unit/fault-checker.spec.ts). Times are ms since the
 * epoch, from one clock (every instance runs on this machine).
 */

/** How a broadcast's promise settled; `rolled-back`: an app transaction ended in ROLLBACK (so it must never arrive). */
export type Outcome = 'accepted' | 'rejected' | 'rolled-back' | 'pending';

/** One call of `broadcast` (or `publishIn`), in the order its source made them. */
export interface BroadcastRecord {
  /** Unique per call: the event's data. */
  value: string;
  /** Who called it: an instance (`A`), or an app connection (`tx1`); `index` is its call order there. */
  source: string;
  index: number;
  /** The channels it was sent to; none: every channel. */
  channels?: string[];
  /** The users it was sent to (`{ users }`): only their streams may ever get it, live or replayed. */
  users?: string[];
  /** Its idempotency key: calls with one key are one broadcast (at most one may arrive). */
  key?: string;
  calledAt: number;
  settledAt?: number;
  outcome: Outcome;
  error?: { name: string; message: string };
  /** A value that cannot be encoded (a BigInt, a cycle): it must be refused. */
  unencodable?: boolean;
  /** The error names a refusal of it may have (none given: any). */
  refusals?: string[];
}

export interface ReceivedEvent {
  event: string;
  id?: string;
  data: string;
  at: number;
  /** Index of the client's segment (connection) it came on. */
  segment: number;
}

/** One connection of a client: a client reconnects with the last id it received (`lastEventId`), or without one. */
export interface SegmentTrace {
  instance: string;
  lastEventId?: string;
  /** The client whose stream `lastEventId` was taken from (a thief's first connection). */
  stolenFrom?: string;
  openedAt: number;
  helloAt?: number;
  clientId?: string;
  endedAt?: number;
  endedBy?: 'test' | 'server';
}

export interface ClientTrace {
  name: string;
  channels: string[];
  /** Its user (the route's `user` option); none: a stream without a user. */
  user?: string;
  segments: SegmentTrace[];
  /** Everything received, in order, up to the end marker. */
  events: ReceivedEvent[];
  reachedEnd: boolean;
  /** Left for good during the run (then it need not reach the end). */
  gone?: boolean;
}

export interface InstanceReport {
  name: string;
  alive: boolean;
  why?: string;
  heapBytes?: number;
  heapBound?: number;
}

export interface Trace {
  /** When the run began: times in messages are given from it. */
  startedAt?: number;
  /**
   * How far apart (in the first number of the ids: PostgreSQL's positions) two messages of
   * one idempotency key may be once the key is forgotten (PostgreSQL keeps it with its row,
   * trimmed `maxLen` positions behind the newest); undefined: a key is not forgotten within a run.
   */
  keyForgottenAfter?: number;
  /** When the last fault was over; every broadcast must settle within `settleBoundMs` of it. */
  faultsStoppedAt: number;
  settleBoundMs: number;
  broadcasts: BroadcastRecord[];
  clients: ClientTrace[];
  instances: InstanceReport[];
  /** What `presence()` on each instance still got wrong when the run stopped waiting for it to converge. */
  presence: Array<{ instance: string; problems: string[] }>;
  /** The run's calls of `closeUser`. */
  closes?: CloseUserRecord[];
  /** Per instance, why each stream it ended ended (`SseCloseReason`), by the stream's id. */
  endReasons?: Record<string, Record<string, string>>;
}

export interface Violation {
  invariant: string;
  detail: string;
}

/** Every broken invariant of the run, empty when it held. */
export function checkTrace(trace: Trace): Violation[] {
  const violations: Violation[] = [];
  const add = (invariant: string, detail: string) => violations.push({ invariant, detail });
  const byValue = new Map(trace.broadcasts.map((record) => [record.value, record]));
  for (const record of trace.broadcasts) checkSettlement(record, trace, add);
  const at = (time: number | undefined) => `+${(time ?? NaN) - (trace.startedAt ?? 0)} ms`;
  const forgotten = (first: ReceivedEvent, later: ReceivedEvent) =>
    trace.keyForgottenAfter !== undefined &&
    first.id !== undefined &&
    later.id !== undefined &&
    Number(later.id.split('-')[0]) - Number(first.id.split('-')[0]) >= trace.keyForgottenAfter;
  for (const client of trace.clients) checkClient(client, trace.broadcasts, byValue, add, at, forgotten);
  for (const close of trace.closes ?? []) checkClose(close, trace, add, at);
  for (const instance of trace.instances) {
    if (!instance.alive)
      add('alive', `instance ${instance.name} is not alive at the end: ${instance.why ?? 'no answer'}`);
    if (
      instance.heapBytes !== undefined &&
      instance.heapBound !== undefined &&
      instance.heapBytes > instance.heapBound
    ) {
      add(
        'memory',
        `instance ${instance.name} holds ${mb(instance.heapBytes)} of heap after GC, over its bound of ${mb(instance.heapBound)}`,
      );
    }
  }
  for (const { instance, problems } of trace.presence)
    for (const problem of problems) add('presence', `on ${instance}: ${problem}`);
  return violations;
}

function checkSettlement(
  record: BroadcastRecord,
  trace: Trace,
  add: (invariant: string, detail: string) => void,
): void {
  const deadline = trace.faultsStoppedAt + trace.settleBoundMs;
  if (record.outcome === 'pending')
    add(
      'settles',
      `${record.value} never settled (waited until ${trace.settleBoundMs} ms after the faults stopped)`,
    );
  else if (record.settledAt !== undefined && record.settledAt > deadline) {
    add(
      'settles',
      `${record.value} settled ${record.settledAt - trace.faultsStoppedAt} ms after the faults stopped (bound ${trace.settleBoundMs} ms)`,
    );
  }
  if (record.unencodable && record.outcome === 'accepted')
    add('refuses unencodable', `${record.value} cannot be encoded, yet its broadcast resolved`);
  if (
    record.outcome === 'rejected' &&
    !record.unencodable &&
    record.refusals &&
    !record.refusals.includes(record.error?.name ?? '')
  ) {
    add(
      'refusal',
      `${record.value} was refused with ${record.error?.name}: ${record.error?.message} (expected ${record.refusals.join(' or ')})`,
    );
  }
}

/** Whether a broadcast may reach this client for its user: one to `users` only theirs, never one without a user. */
export function isForUserOf(
  client: Pick<ClientTrace, 'user'>,
  record: Pick<BroadcastRecord, 'users'>,
): boolean {
  return record.users === undefined || (client.user !== undefined && record.users.includes(client.user));
}

/**
 * An accepted `closeUser` ends every stream of its user that was open (greeted) when it
 * was called, on every instance: none gets a broadcast called after the close was
 * accepted (the close is ahead of it in the transport's one order, so its instance read
 * the close first), and none is still open at the end (the client comes back on a new
 * one). One the client itself closed (a hop, a leave) may have gone before the close came;
 * one that got a resync after the call is excused (its instance missed part of the stream,
 * which may have held the close, as it may have held a broadcast). One the server ended
 * after the call ended as `server-closed`. A refused call may or may not have been
 * published: nothing is owed.
 */
function checkClose(
  close: CloseUserRecord,
  trace: Trace,
  add: (invariant: string, detail: string) => void,
  at: (time: number | undefined) => string,
): void {
  const where = `closeUser(${JSON.stringify(close.user)}) on ${close.from}`;
  checkSettlement({ ...close, value: where, source: close.from, index: 0 }, trace, add);
  if (close.outcome !== 'accepted') return;
  const calledAfter = new Set(
    trace.broadcasts.filter((record) => record.calledAt > close.settledAt!).map((record) => record.value),
  );
  const what = `${where} (called at ${at(close.calledAt)}, accepted at ${at(close.settledAt)})`;
  for (const client of trace.clients) {
    if (client.user !== close.user) continue;
    client.segments.forEach((segment, i) => {
      if (segment.helloAt === undefined || segment.helloAt >= close.calledAt) return;
      const events = client.events.filter((event) => event.segment === i);
      const resync = events.findIndex((event) => event.event === 'resync' && event.at > close.calledAt);
      const after = events.findIndex((event) => event.event === 'n' && calledAfter.has(event.data));
      const connection =
        `client ${client.name}'s connection #${i} to ${segment.instance} ` +
        `(greeted at ${at(segment.helloAt)})`;
      // What its instance said of why it ended it (an instance that did not answer says nothing).
      const reasons = trace.endReasons?.[segment.instance];
      const reason = reasons?.[segment.clientId ?? ''];
      if (
        reasons &&
        segment.endedBy === 'server' &&
        segment.endedAt! > close.calledAt &&
        reason !== 'server-closed'
      )
        add(
          'close-user',
          `${what} ended ${connection} with reason ${reason ?? 'none recorded'}, not server-closed`,
        );
      else if (after >= 0 && (resync < 0 || resync > after))
        add(
          'close-user',
          `${what} did not end ${connection}: it then got ${events[after].data}, called after the close was accepted`,
        );
      // Ended by the server (the close, it must be), or by the client before the close came (a hop).
      else if (segment.endedAt === undefined && resync < 0)
        add('close-user', `${what} did not end ${connection}: it was still open at the end, with no resync`);
    });
  }
}

/** `a` must come before `e` on every stream that gets both: called earlier on the same source, or acknowledged before `e` was called. */
export function mustPrecede(a: BroadcastRecord, e: BroadcastRecord): boolean {
  if (a.source === e.source) return a.index < e.index;
  return a.outcome === 'accepted' && a.settledAt !== undefined && a.settledAt < e.calledAt;
}

/** The client's segments grouped into chains: a segment opened with a Last-Event-ID continues the chain before it. */
function chainsOf(client: ClientTrace): number[] {
  const chainOf: number[] = [];
  let chain = -1;
  client.segments.forEach((segment, i) => {
    if (segment.lastEventId === undefined) chain++;
    chainOf[i] = Math.max(chain, 0);
  });
  return chainOf;
}

function checkClient(
  client: ClientTrace,
  broadcasts: BroadcastRecord[],
  byValue: Map<string, BroadcastRecord>,
  add: (invariant: string, detail: string) => void,
  at: (time: number | undefined) => string,
  forgotten: (first: ReceivedEvent, later: ReceivedEvent) => boolean,
): void {
  const who = `client ${client.name}`;
  if (!client.reachedEnd && !client.gone) add('reaches the end', `${who} never received the end marker`);
  const chainOf = chainsOf(client);
  /** Per received broadcast: its record and its position in `events`. */
  const got: Array<{ record: BroadcastRecord; at: number }> = [];
  const seen = new Map<string, number>();
  const keySeen = new Map<string, number>();
  const lastIndex = new Map<string, { index: number; value: string }>();
  let lastId: { id: string; value: string } | undefined;
  let lastResync = -1;
  client.events.forEach((event, position) => {
    if (event.event === 'resync') lastResync = position;
    if (event.event !== 'n') {
      if (event.event !== 'hello' && event.event !== 'resync')
        add('events', `${who} received an unexpected event ${event.event}: ${event.data}`);
      return;
    }
    const record = byValue.get(event.data);
    if (!record)
      return add('events', `${who} received ${JSON.stringify(event.data)}, which was never broadcast`);
    if (seen.has(record.value))
      add(
        'exactly once',
        `${who} received ${record.value} twice (at events #${seen.get(record.value)} and #${position})`,
      );
    seen.set(record.value, position);
    if (record.key !== undefined) {
      const earlier = keySeen.get(record.key);
      if (earlier !== undefined && earlier > lastResync && !forgotten(client.events[earlier], event)) {
        add(
          'exactly once',
          `${who} received two broadcasts of idempotency key ${record.key}: ${client.events[earlier].data} (#${earlier}) and ${record.value} (#${position}), with no resync between`,
        );
      }
      keySeen.set(record.key, position);
    }
    if (record.unencodable)
      add('refuses unencodable', `${who} received ${record.value}, which cannot be encoded`);
    if (record.outcome === 'rolled-back')
      add('exactly once', `${who} received ${record.value}, whose transaction rolled back`);
    if (record.channels && !record.channels.some((channel) => client.channels.includes(channel)))
      add(
        'channels',
        `${who} (in ${client.channels.join(', ')}) received ${record.value}, sent to ${record.channels.join(', ')}`,
      );
    if (!isForUserOf(client, record)) {
      const segment = client.segments[event.segment];
      const how = record.calledAt < segment.openedAt ? 'replayed' : 'live or replayed';
      const since =
        segment.lastEventId === undefined
          ? 'without a Last-Event-ID'
          : `with Last-Event-ID ${segment.lastEventId}${segment.stolenFrom ? ` (taken from ${segment.stolenFrom}'s stream)` : ''}`;
      add(
        'users',
        `${who} (${client.user === undefined ? 'no user' : `user ${JSON.stringify(client.user)}`}) received ${record.value}, ` +
          `sent to users ${JSON.stringify(record.users)}: ${how}, on its connection #${event.segment} to ${segment.instance} ` +
          `opened at ${at(segment.openedAt)} ${since}; called at ${at(record.calledAt)}`,
      );
    }
    if (event.id === undefined) add('ids', `${who} received ${record.value} without an id`);
    else {
      if (lastId && compareEventIds(lastId.id, event.id) >= 0)
        add(
          'ids',
          `${who}: ids not increasing: ${lastId.value} had ${lastId.id}, then ${record.value} had ${event.id}`,
        );
      lastId = { id: event.id, value: record.value };
    }
    const last = lastIndex.get(record.source);
    if (last && last.index >= record.index)
      add(
        'call order',
        `${who} received ${record.value} after ${last.value}, though ${record.source} called it first`,
      );
    if (!last || last.index < record.index)
      lastIndex.set(record.source, { index: record.index, value: record.value });
    got.push({ record, at: position });
  });
  checkCausalOrder(who, got, add);
  checkCompleteness(client, chainOf, got, broadcasts, add, at);
}

/** A broadcast acknowledged before another was called must come first (one order, the ids'). */
function checkCausalOrder(
  who: string,
  got: Array<{ record: BroadcastRecord }>,
  add: (invariant: string, detail: string) => void,
): void {
  let earliest: BroadcastRecord | undefined;
  for (let i = got.length - 1; i >= 0; i--) {
    const { record } = got[i];
    if (earliest && earliest.source !== record.source && mustPrecede(earliest, record)) {
      add(
        'causal order',
        `${who} received ${record.value} before ${earliest.value}, though ${earliest.value} was acknowledged ${record.calledAt - earliest.settledAt!} ms before ${record.value} was called`,
      );
    }
    if (
      record.outcome === 'accepted' &&
      record.settledAt !== undefined &&
      (!earliest || record.settledAt < earliest.settledAt!)
    )
      earliest = record;
  }
}

/**
 * Every accepted broadcast the client should have (called after its chain's first hello,
 * to its channels, and bound to come before something it did receive in that chain) is
 * there, or a resync came between what must precede it and what must follow it.
 * Calls that share an idempotency key count as one broadcast, owed when all of them could be.
 */
function checkCompleteness(
  client: ClientTrace,
  chainOf: number[],
  got: Array<{ record: BroadcastRecord; at: number }>,
  broadcasts: BroadcastRecord[],
  add: (invariant: string, detail: string) => void,
  time: (time: number | undefined) => string,
): void {
  const units = new Map<string, BroadcastRecord[]>();
  for (const record of broadcasts) {
    if (record.unencodable) continue;
    const unit = record.key === undefined ? `value:${record.value}` : `key:${record.key}`;
    units.set(unit, [...(units.get(unit) ?? []), record]);
  }
  // Owed only when every attempt reaches the client: which attempt of a key is published is not known.
  const reaches = (record: BroadcastRecord) =>
    (record.channels === undefined || record.channels.some((channel) => client.channels.includes(channel))) &&
    isForUserOf(client, record);
  for (const [unit, attempts] of units) if (!attempts.every(reaches)) units.delete(unit);
  const received = new Set(got.map(({ record }) => record.value));
  const chains = new Set(chainOf);
  for (const chain of chains) {
    const segments = client.segments
      .map((segment, i) => ({ segment, i }))
      .filter(({ i }) => chainOf[i] === chain);
    const helloAt = segments.find(({ segment }) => segment.helloAt !== undefined)?.segment.helloAt;
    if (helloAt === undefined) continue;
    const inChain = got.filter(({ at }) => chainOf[client.events[at].segment] === chain);
    const resyncs = client.events
      .map((event, at) => ({ event, at }))
      .filter(({ event }) => event.event === 'resync' && chainOf[event.segment] === chain)
      .map(({ at }) => at);
    for (const attempts of units.values()) {
      if (attempts.some((attempt) => received.has(attempt.value))) continue;
      // A key is published by its first attempt that lands: one (that may have landed) before the hello was not owed.
      if (attempts.some((attempt) => attempt.outcome !== 'rolled-back' && !(attempt.calledAt > helloAt)))
        continue;
      const accepted = attempts.filter((attempt) => attempt.outcome === 'accepted');
      const after = inChain.filter(({ record }) => accepted.some((attempt) => mustPrecede(attempt, record)));
      if (after.length === 0) continue;
      const first = attempts.reduce((a, b) => (a.calledAt <= b.calledAt ? a : b));
      const before = inChain.filter(({ record }) => mustPrecede(record, first));
      const from = before.length ? before[before.length - 1].at : -1;
      const to = after[0].at;
      if (resyncs.some((at) => at > from && at < to)) continue;
      const lost = accepted[0];
      add(
        'exactly once',
        `${client.name} lost ${lost.value}${lost.key ? ` (key ${lost.key})` : ''} (called at ${time(lost.calledAt)}, accepted at ${time(lost.settledAt)}) with no resync: ` +
          `it got ${before.length ? client.events[from].data : 'nothing before it'} and then ${client.events[to].data}, which must follow it`,
      );
    }
  }
}

/** `SseHub.closeUser(user)`, called on `from` while the faults ran. */
export interface CloseUserRecord {
  user: string;
  from: string;
  calledAt: number;
  settledAt?: number;
  outcome: Outcome;
  error?: { name: string; message: string };
}

/**
 * What an instance's `presence()` gets wrong, against the streams open at the end: nothing,
 * once it has converged. An entry's user is checked where it has one, and in its `info`
 * (the matrix's route puts it there); with `keepsUser`, an entry must have its user.
 */
export function presenceProblems(
  expected: Array<{ id: string; channels: string[]; user?: string }>,
  presence: {
    count: number;
    clients: Array<{ id: string; channels: string[]; info?: unknown; user?: string }>;
  },
  keepsUser = false,
): string[] {
  const problems: string[] = [];
  if (presence.count !== presence.clients.length)
    problems.push(`count ${presence.count} but ${presence.clients.length} clients listed`);
  const wanted = new Map(expected.map((entry) => [entry.id, entry]));
  const listed = new Map<string, number>();
  for (const entry of presence.clients) {
    listed.set(entry.id, (listed.get(entry.id) ?? 0) + 1);
    const want = wanted.get(entry.id);
    if (!want) {
      problems.push(`ghost ${entry.id} (in ${entry.channels.join(', ')}): no such stream is open`);
      continue;
    }
    if ([...entry.channels].sort().join('\n') !== [...want.channels].sort().join('\n')) {
      problems.push(
        `${entry.id} listed in ${JSON.stringify(entry.channels)}, but it is in ${JSON.stringify(want.channels)}`,
      );
    }
    if ((keepsUser || entry.user !== undefined) && entry.user !== want.user)
      problems.push(
        `${entry.id} listed as user ${JSON.stringify(entry.user)}, but it is ${JSON.stringify(want.user)}'s`,
      );
    const info = entry.info as { user?: unknown } | null | undefined;
    if (info && typeof info === 'object' && 'user' in info && info.user !== (want.user ?? null))
      problems.push(
        `${entry.id}'s info says user ${JSON.stringify(info.user)}, but it is ${JSON.stringify(want.user)}'s`,
      );
  }
  for (const [id, times] of listed) if (times > 1) problems.push(`${id} listed ${times} times`);
  for (const id of wanted.keys()) if (!listed.has(id)) problems.push(`missing ${id}: its stream is open`);
  return problems;
}

/** The violations, grouped by invariant, a few of each: what a failed run prints. */
export function describeViolations(violations: Violation[], perInvariant = 8): string {
  const groups = new Map<string, string[]>();
  for (const { invariant, detail } of violations)
    groups.set(invariant, [...(groups.get(invariant) ?? []), detail]);
  return [...groups]
    .map(
      ([invariant, details]) =>
        `  ${invariant} (${details.length}):\n${details
          .slice(0, perInvariant)
          .map((detail) => `    - ${detail}`)
          .join(
            '\n',
          )}${details.length > perInvariant ? `\n    … ${details.length - perInvariant} more` : ''}`,
    )
    .join('\n');
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
