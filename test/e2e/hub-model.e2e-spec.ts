import { Controller } from '@nestjs/common';
import fc from 'fast-check';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ConnectedClient, SseClient, type SseGateway, SseHub, SseRoute } from 'nestjs-sse-hub';
import { openSseStream, type SseTestEvent, type SseTestStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

/**
 * A model-based test of the hub: seeded random command lists (connect, join, leave,
 * broadcast, sendTo, close from either side, pause, resume, reconnect with
 * Last-Event-ID) applied to a real app and to a model of what every open client must
 * receive, in order, each once. The hooks re-enter the hub: onMessage broadcasts an echo
 * for every recipient of an "echo-me" broadcast, onClose broadcasts who left.
 *
 * HUB_MODEL_SEED, HUB_MODEL_RUNS and HUB_MODEL_SHRINK=1 (shrink a failure to a minimal
 * command list; slow, since every try runs against the real app) help to chase a failure.
 */
const SEED = Number(process.env.HUB_MODEL_SEED ?? 0x5eed5);
const RUNS = Number(process.env.HUB_MODEL_RUNS ?? 100);
const MAX_COMMANDS = 60;
const SLOTS = 4;
// Every wait is bounded by this: events arrive in milliseconds, a missing one fails the run.
const WAIT = 5_000;

type Channel = 'a' | 'b' | 'c';
const CHANNELS: readonly Channel[] = ['a', 'b', 'c'];
/** The events that are broadcasts, and so carry an id; `hello` (the handler's value) and `send` carry none. */
const WITH_ID = new Set(['b', 'echo-me', 'echo', 'left', 'mark']);

interface HubValue {
  event: string;
  data: string;
}

let t: TestApp;
let hub: SseHub;
/** What the runs exercised, printed at the end (a model test that checks nothing passes too). */
const stats = {
  checks: 0,
  events: 0,
  echoes: 0,
  replayed: 0,
  replayedEchoMe: 0,
  lostInFlight: 0,
  pausedWhenClosed: 0,
};
/** Every stream opened, closed in afterAll whatever happened. */
const everyStream: SseTestStream[] = [];

function channelsOf(query: unknown): string[] {
  return typeof query === 'string' ? query.split(',').filter(Boolean) : [];
}

@Controller('fuzz')
class FuzzController implements SseGateway {
  // GET /fuzz/s?ch=a,b: the channels come from the query string.
  @SseRoute('s', { channels: (req: any) => channelsOf(req.query?.ch) })
  stream(@ConnectedClient() client: SseClient) {
    return { event: 'hello', data: client.id };
  }

  onMessage(message: HubValue, client: SseClient) {
    // Re-enters the hub while the echo-me broadcast is still being delivered to the others.
    if (message.event === 'echo-me')
      void hub.broadcast({ event: 'echo', data: `${message.data}>${client.id}` });
    return message;
  }

  onClose(client: SseClient) {
    void hub.broadcast({ event: 'left', data: client.id });
  }
}

function compareIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(Number);
  const [bMs, bSeq] = b.split('-').map(Number);
  return aMs - bMs || aSeq - bSeq;
}

const keyOf = (event: SseTestEvent) => `${event.event}:${event.data}`;
const tagOf = (key: string) => key.slice(key.indexOf(':') + 1);

/** Polls turn by turn, up to a deadline. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${WAIT} ms waiting for ${what}.`);
    await nextTurn();
  }
}

function countsOf(keys: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

/** A broadcast as the history keeps it, in publication (id) order. */
interface Kept {
  /** `<event>:<data>`, unique within a run. */
  key: string;
  /** `undefined`: to everyone. */
  channels: readonly Channel[] | undefined;
  echoMe: boolean;
  /**
   * Echoes only: the echoes one delivery made. They are contiguous in the history, but
   * their order among themselves is the registry's, which the model does not follow.
   */
  group?: number;
}

/** One connection (one stream, one client id). */
interface Conn {
  readonly slot: Slot;
  readonly stream: SseTestStream;
  readonly id: string;
  readonly channels: Set<Channel>;
  open: boolean;
  paused: boolean;
  /** The non-echo events it must receive, in order, each once. */
  readonly expected: string[];
  /** The echoes it must receive, in any order, each once. */
  readonly echoes: string[];
}

/** A client in the browser's sense: one connection after another, each reconnect with Last-Event-ID. */
interface Slot {
  readonly index: number;
  conn?: Conn;
  query: Channel[];
  lastEventId?: string;
  /** The key of the event that carried `lastEventId`. */
  lastKey?: string;
  /** Keys of every event with an id that this slot's connections received. */
  seen: Set<string>;
}

class World {
  readonly slots: Slot[] = Array.from({ length: SLOTS }, (_, index) => ({
    index,
    query: [],
    seen: new Set<string>(),
  }));
  readonly kept: Kept[] = [];
  readonly conns: Conn[] = [];
  readonly log: string[] = [];
  private counter = 0;
  private groups = 0;

  constructor(readonly run: number) {}

  tag(kind: string): string {
    return `r${this.run}${kind}${++this.counter}`;
  }

  open(): Conn[] {
    return this.conns.filter((conn) => conn.open);
  }

  /** The n-th (modulo) of the slots that pass `filter`, so that a command applies whenever any does. */
  pick(n: number, filter: (slot: Slot) => boolean): Slot | undefined {
    const eligible = this.slots.filter(filter);
    return eligible.length === 0 ? undefined : eligible[n % eligible.length];
  }

  name(conn: Conn): string {
    return `s${conn.slot.index}(${conn.id.slice(0, 8)})`;
  }

  // ---- the model ----------------------------------------------------------------------

  private keep(entry: Kept): void {
    this.kept.push(entry);
    // The default history keeps 1000: a replay from further back would be a gap.
    if (this.kept.length > 900) throw new Error('The run broadcast more than the history keeps: shorten it.');
  }

  /** A broadcast: kept for replay, and expected by the open clients it reaches. */
  expectBroadcast(
    event: string,
    data: string,
    channels: readonly Channel[] | undefined,
    except?: string,
  ): Conn[] {
    const key = `${event}:${data}`;
    this.keep({ key, channels, echoMe: event === 'echo-me' });
    const recipients = this.open().filter(
      (conn) =>
        (channels === undefined || channels.some((channel) => conn.channels.has(channel))) &&
        conn.id !== except,
    );
    for (const conn of recipients) conn.expected.push(key);
    return recipients;
  }

  /** The echoes of one delivery (origin tag, recipient id): broadcasts to everyone open. */
  expectEchoes(pairs: Array<[string, string]>): void {
    if (pairs.length === 0) return;
    const group = ++this.groups;
    const keys = pairs.map(([origin, recipient]) => `echo:${origin}>${recipient}`);
    for (const key of keys) this.keep({ key, channels: undefined, echoMe: false, group });
    for (const conn of this.open()) conn.echoes.push(...keys);
  }

  /** A connection has ended: everyone still open is told it left. */
  expectClosed(conn: Conn): void {
    conn.open = false;
    conn.paused = false;
    this.expectBroadcast('left', conn.id, undefined);
  }

  /**
   * What a reconnect with the slot's Last-Event-ID gets first: every broadcast kept after
   * it that reaches the query's channels (not `except`, which named old connections; not
   * channels joined later, which the new connection does not have).
   */
  replayFor(slot: Slot): Kept[] {
    if (slot.lastEventId === undefined) return [];
    const at = this.kept.findIndex((entry) => entry.key === slot.lastKey);
    if (at < 0)
      throw new Error(
        `The model kept no broadcast ${slot.lastKey} (id ${slot.lastEventId}).\n${this.history()}`,
      );
    const replay: Kept[] = [];
    let from = at + 1;
    const group = this.kept[at].group;
    if (group !== undefined) {
      // Its group's other echoes: those the slot has not seen have larger ids than the last it saw.
      while (from < this.kept.length && this.kept[from].group === group) from++;
      for (const entry of this.kept)
        if (entry.group === group && !slot.seen.has(entry.key)) replay.push(entry);
    }
    for (const entry of this.kept.slice(from)) {
      if (entry.channels === undefined || entry.channels.some((channel) => slot.query.includes(channel)))
        replay.push(entry);
    }
    return replay;
  }

  /** After a connection ended: what its slot will reconnect with. */
  remember(conn: Conn): void {
    for (const event of this.events(conn)) {
      if (event.id === undefined) continue;
      conn.slot.seen.add(keyOf(event));
      conn.slot.lastEventId = event.id;
      conn.slot.lastKey = keyOf(event);
    }
  }

  // ---- the real app -------------------------------------------------------------------

  events(conn: Conn): SseTestEvent[] {
    return conn.stream.received.filter((message): message is SseTestEvent => message.type === 'event');
  }

  /** Opens a stream for the slot (with its Last-Event-ID, if any) and reads up to its hello. */
  async connect(slot: Slot, replay: Kept[]): Promise<Conn> {
    const path = `/fuzz/s${slot.query.length > 0 ? `?ch=${slot.query.join(',')}` : ''}`;
    const headers: Record<string, string> =
      slot.lastEventId === undefined ? {} : { 'last-event-id': slot.lastEventId };
    const stream = await openSseStream(t.url, path, { headers, timeout: WAIT });
    everyStream.push(stream);
    if (stream.status !== 200)
      throw this.failure(`connect s${slot.index}: status ${stream.status}, ${stream.body}`);
    let hello: SseTestEvent | undefined;
    try {
      // A reconnect's replay (and the echoes its hook made of it) come before the handler's value.
      while (!hello) {
        const event = await stream.nextEvent();
        if (event.event === 'hello') hello = event;
      }
    } catch (error) {
      throw this.failure(
        `connect s${slot.index}: no hello (${shorten(error)}); received ${JSON.stringify(stream.received)}`,
      );
    }
    const conn: Conn = {
      slot,
      stream,
      id: hello.data,
      channels: new Set(slot.query),
      open: true,
      paused: false,
      expected: [],
      echoes: [],
    };
    this.conns.push(conn);
    slot.conn = conn;
    for (const entry of replay) (entry.group === undefined ? conn.expected : conn.echoes).push(entry.key);
    stats.replayed += replay.length;
    stats.replayedEchoMe += replay.filter((entry) => entry.echoMe).length;
    // Its onMessage ran for every echo-me broadcast replayed to it: one echo each, to everyone.
    this.expectEchoes(
      replay.filter((entry) => entry.echoMe).map((entry): [string, string] => [tagOf(entry.key), conn.id]),
    );
    conn.expected.push(`hello:${conn.id}`);
    return conn;
  }

  /** Reads the connection until `done` holds for what it has received. */
  async readUntil(conn: Conn, done: (events: SseTestEvent[]) => boolean, what: string): Promise<void> {
    while (!done(this.events(conn))) {
      try {
        await conn.stream.nextEvent();
      } catch (error) {
        throw this.failure(`${this.name(conn)} waiting for ${what}: ${shorten(error)}`, conn);
      }
    }
  }

  serverClient(conn: Conn): SseClient {
    const client = hub.clients().find((candidate) => candidate.id === conn.id);
    if (!client) throw this.failure(`${this.name(conn)} is open in the model but not in hub.clients()`);
    return client;
  }

  /** Broadcasts a marker to everyone, reads every open reader up to it, and checks each. */
  async checkpoint(): Promise<void> {
    const tag = this.tag('m');
    await hub.broadcast({ event: 'mark', data: tag });
    this.expectBroadcast('mark', tag, undefined);
    for (const conn of this.open()) {
      if (conn.paused) continue;
      await this.readUntil(
        conn,
        (events) => events.some((event) => event.event === 'mark' && event.data === tag),
        `marker ${tag}`,
      );
      this.verify(conn, true);
    }
  }

  /** hub.count() and hub.count(channel) agree with the model. */
  checkCounts(): void {
    const open = this.open();
    const problems: string[] = [];
    if (hub.count() !== open.length)
      problems.push(`hub.count() is ${hub.count()}, the model has ${open.length} open`);
    for (const channel of CHANNELS) {
      const want = open.filter((conn) => conn.channels.has(channel)).length;
      if (hub.count(channel) !== want)
        problems.push(`hub.count('${channel}') is ${hub.count(channel)}, the model has ${want}`);
    }
    if (problems.length > 0) throw this.failure(problems.join('; '));
  }

  /**
   * Checks what a connection received against the model: ids strictly increasing; the
   * non-echo events exactly as expected, in order (or a prefix of them, for a stream
   * the client dropped with events in flight); the echoes as a multiset, each after its
   * echo-me broadcast.
   */
  verify(conn: Conn, complete: boolean): void {
    const events = this.events(conn);
    const problems: string[] = [];
    let previous: string | undefined;
    events.forEach((event, index) => {
      if (WITH_ID.has(event.event ?? '') !== (event.id !== undefined))
        problems.push(`event ${index} ${keyOf(event)} has id ${event.id}`);
      if (event.id === undefined) return;
      if (previous !== undefined && compareIds(previous, event.id) >= 0)
        problems.push(`(1) id ${event.id} of ${keyOf(event)} (event ${index}) is not after ${previous}`);
      previous = event.id;
    });
    const got = events.filter((event) => event.event !== 'echo').map(keyOf);
    const want = complete ? conn.expected : conn.expected.slice(0, got.length);
    if (got.length !== want.length || got.some((key, i) => key !== want[i])) {
      problems.push(
        `(2) non-echo events differ${complete ? '' : ' (as a prefix)'}:\n  expected ${JSON.stringify(conn.expected)}\n  received ${JSON.stringify(got)}`,
      );
    }
    const echoes = events.filter((event) => event.event === 'echo').map(keyOf);
    const gotCounts = countsOf(echoes);
    const wantCounts = countsOf(conn.echoes);
    const echoProblem =
      (complete && echoes.length !== conn.echoes.length) ||
      [...gotCounts].some(([key, count]) => count > (wantCounts.get(key) ?? 0)) ||
      (complete && [...wantCounts].some(([key, count]) => gotCounts.get(key) !== count));
    if (echoProblem)
      problems.push(
        `(3) echoes differ:\n  expected ${JSON.stringify([...conn.echoes].sort())}\n  received ${JSON.stringify([...echoes].sort())}`,
      );
    events.forEach((event, index) => {
      if (event.event !== 'echo') return;
      const origin = `echo-me:${event.data.slice(0, event.data.indexOf('>'))}`;
      const at = events.findIndex((candidate) => keyOf(candidate) === origin);
      if (at > index)
        problems.push(
          `(3) echo ${keyOf(event)} (event ${index}) arrived before its broadcast ${origin} (event ${at})`,
        );
    });
    if (problems.length > 0) throw this.failure(`${this.name(conn)}:\n${problems.join('\n')}`, conn);
    stats.checks++;
    stats.events += events.length;
    stats.echoes += echoes.length;
    if (!complete)
      stats.lostInFlight += conn.expected.length - got.length + conn.echoes.length - echoes.length;
  }

  failure(what: string, conn?: Conn): Error {
    const received = conn
      ? `\nreceived by ${this.name(conn)}: ${JSON.stringify(this.events(conn).map((event) => [event.event, event.data, event.id]))}`
      : '';
    return new Error(
      `Run ${this.run}, seed ${SEED}: ${what}${received}\ncommands:\n  ${this.log.join('\n  ')}`,
    );
  }

  history(): string {
    return `kept: ${JSON.stringify(this.kept.map((entry) => entry.key))}`;
  }

  /** The end of a run: everyone read up to a last marker and checked, then every client closed. */
  async finish(): Promise<void> {
    for (const conn of this.open()) {
      if (!conn.paused) continue;
      conn.stream.resume();
      conn.paused = false;
    }
    await this.checkpoint();
    for (const conn of this.open()) {
      conn.stream.close();
      this.expectClosed(conn);
    }
    await until(() => hub.count() === 0, 'hub.count() to reach 0 once every client closed');
    expect(hub.count()).toBe(0);
    expect(t.logger.errors()).toEqual([]);
  }

  /** Whatever happened, nothing of this run outlives it. */
  async cleanup(): Promise<void> {
    for (const conn of this.conns) if (!conn.stream.ended) conn.stream.close();
    await until(() => hub.count() === 0, 'hub.count() to reach 0 after the run');
  }
}

function shorten(error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  const cut = message.indexOf(' (received so far');
  return cut < 0 ? message : message.slice(0, cut);
}

// ---- commands ---------------------------------------------------------------------------

type Command = fc.AsyncCommand<World, World, false>;

abstract class Base implements Command {
  abstract check(world: Readonly<World>): boolean;
  abstract act(world: World): Promise<void>;
  abstract toString(): string;

  async run(world: World): Promise<void> {
    await this.act(world);
    world.checkCounts();
  }
}

const isOpen = (slot: Slot) => slot.conn?.open === true;
const isClosed = (slot: Slot) => slot.conn !== undefined && !slot.conn.open;
const isReading = (slot: Slot) => isOpen(slot) && !slot.conn!.paused;
const isPaused = (slot: Slot) => isOpen(slot) && slot.conn!.paused;

/** A new client (a slot with no open stream), on some of the channels or none. */
class Connect extends Base {
  constructor(
    readonly n: number,
    readonly channels: Channel[],
  ) {
    super();
  }
  check(world: Readonly<World>) {
    return world.slots.some((slot) => !isOpen(slot));
  }
  async act(world: World) {
    const slot = world.pick(this.n, (candidate) => !isOpen(candidate))!;
    Object.assign(slot, {
      query: [...this.channels],
      lastEventId: undefined,
      lastKey: undefined,
      seen: new Set<string>(),
    });
    const conn = await world.connect(slot, []);
    world.log.push(`connect ${world.name(conn)} ?ch=${this.channels.join(',')}`);
  }
  toString() {
    return `connect(${this.n}, [${this.channels.join(',')}])`;
  }
}

/** A closed client comes back with its Last-Event-ID and its query's channels. */
class Reconnect extends Base {
  constructor(readonly n: number) {
    super();
  }
  check(world: Readonly<World>) {
    return world.slots.some(isClosed);
  }
  async act(world: World) {
    const slot = world.pick(this.n, isClosed)!;
    const replay = world.replayFor(slot);
    const conn = await world.connect(slot, replay);
    world.log.push(
      `reconnect ${world.name(conn)} ?ch=${slot.query.join(',')} last-event-id ${slot.lastEventId} (${slot.lastKey}): replay ${JSON.stringify(replay.map((entry) => entry.key))}`,
    );
  }
  toString() {
    return `reconnect(${this.n})`;
  }
}

/** Joins or leaves a channel server-side. */
class Membership extends Base {
  constructor(
    readonly n: number,
    readonly channel: Channel,
    readonly join: boolean,
  ) {
    super();
  }
  check(world: Readonly<World>) {
    return world.slots.some(isOpen);
  }
  async act(world: World) {
    const conn = world.pick(this.n, isOpen)!.conn!;
    const client = world.serverClient(conn);
    if (this.join) {
      client.join(this.channel);
      conn.channels.add(this.channel);
    } else {
      client.leave(this.channel);
      conn.channels.delete(this.channel);
    }
    world.log.push(`${this.join ? 'join' : 'leave'} ${world.name(conn)} ${this.channel}`);
  }
  toString() {
    return `${this.join ? 'join' : 'leave'}(${this.n}, ${this.channel})`;
  }
}

/** A broadcast to all or to one or two channels, maybe except some client, maybe echo-me. */
class Broadcast extends Base {
  constructor(
    readonly channels: Channel[] | undefined,
    readonly except: number | undefined,
    readonly echoMe: boolean,
  ) {
    super();
  }
  check() {
    return true;
  }
  async act(world: World) {
    const excepted = this.except === undefined ? undefined : world.slots[this.except].conn;
    const except = this.except === undefined ? undefined : (excepted?.id ?? 'nobody');
    const event = this.echoMe ? 'echo-me' : 'b';
    const tag = world.tag('b');
    await hub.broadcast({ event, data: tag }, { channels: this.channels, except });
    const recipients = world.expectBroadcast(event, tag, this.channels, except);
    if (this.echoMe) world.expectEchoes(recipients.map((conn): [string, string] => [tag, conn.id]));
    world.log.push(
      `broadcast ${event}:${tag} to ${this.channels?.join('+') ?? 'all'}${excepted ? ` except ${world.name(excepted)}` : ''} -> ${recipients.map((conn) => world.name(conn)).join(', ')}`,
    );
  }
  toString() {
    return `broadcast(${this.channels ? `[${this.channels.join(',')}]` : 'all'}, except ${this.except ?? '-'}${this.echoMe ? ', echo-me' : ''})`;
  }
}

/** sendTo a client's latest connection, open or not (a closed one gets nothing). */
class SendTo extends Base {
  constructor(readonly n: number) {
    super();
  }
  check(world: Readonly<World>) {
    return world.slots.some((slot) => slot.conn !== undefined);
  }
  async act(world: World) {
    const conn = world.pick(this.n, (slot) => slot.conn !== undefined)!.conn!;
    const tag = world.tag('s');
    await hub.sendTo(conn.id, { event: 'send', data: tag });
    if (conn.open) conn.expected.push(`send:${tag}`);
    world.log.push(`sendTo ${world.name(conn)}${conn.open ? '' : ' (closed)'} send:${tag}`);
  }
  toString() {
    return `sendTo(${this.n})`;
  }
}

/** hub.close(id): the stream ends after everything written to it. */
class ServerClose extends Base {
  constructor(readonly n: number) {
    super();
  }
  check(world: Readonly<World>) {
    return world.slots.some(isOpen);
  }
  async act(world: World) {
    const conn = world.pick(this.n, isOpen)!.conn!;
    world.log.push(`hub.close ${world.name(conn)}`);
    const paused = conn.paused;
    await hub.close(conn.id);
    world.expectClosed(conn);
    if (paused) conn.stream.resume();
    try {
      await conn.stream.closed();
    } catch (error) {
      throw world.failure(`${world.name(conn)} did not end after hub.close: ${shorten(error)}`, conn);
    }
    world.verify(conn, true);
    world.remember(conn);
  }
  toString() {
    return `serverClose(${this.n})`;
  }
}

/**
 * The client drops its connection (a TCP reset), after reading everything expected or
 * with events maybe still in flight; then waits until the hub has let go of it, so that
 * its 'left' notice has a known place.
 */
class ClientClose extends Base {
  constructor(
    readonly n: number,
    readonly drain: boolean,
  ) {
    super();
  }
  check(world: Readonly<World>) {
    return world.slots.some(isOpen);
  }
  async act(world: World) {
    const conn = world.pick(this.n, isOpen)!.conn!;
    world.log.push(
      `client close ${world.name(conn)}${this.drain ? ' (drained)' : ''}${conn.paused ? ' (paused)' : ''}`,
    );
    if (conn.paused) stats.pausedWhenClosed++;
    if (this.drain) {
      if (conn.paused) conn.stream.resume();
      await world.readUntil(
        conn,
        (events) => events.length >= conn.expected.length + conn.echoes.length,
        'all it is owed',
      );
      world.verify(conn, true);
    }
    conn.stream.close();
    world.expectClosed(conn);
    const open = world.open().length;
    await until(() => hub.count() === open, `the hub to drop ${world.name(conn)}`);
    world.verify(conn, this.drain);
    world.remember(conn);
  }
  toString() {
    return `clientClose(${this.n}${this.drain ? ', drained' : ''})`;
  }
}

class Pause extends Base {
  constructor(readonly n: number) {
    super();
  }
  check(world: Readonly<World>) {
    return world.slots.some(isReading);
  }
  async act(world: World) {
    const conn = world.pick(this.n, isReading)!.conn!;
    conn.stream.pause();
    conn.paused = true;
    world.log.push(`pause ${world.name(conn)}`);
  }
  toString() {
    return `pause(${this.n})`;
  }
}

class Resume extends Base {
  constructor(readonly n: number) {
    super();
  }
  check(world: Readonly<World>) {
    return world.slots.some(isPaused);
  }
  async act(world: World) {
    const conn = world.pick(this.n, isPaused)!.conn!;
    conn.stream.resume();
    conn.paused = false;
    world.log.push(`resume ${world.name(conn)}`);
  }
  toString() {
    return `resume(${this.n})`;
  }
}

class Checkpoint extends Base {
  check() {
    return true;
  }
  async act(world: World) {
    world.log.push('checkpoint');
    await world.checkpoint();
  }
  toString() {
    return 'checkpoint';
  }
}

const pick = fc.nat({ max: SLOTS * 3 });
const channel = fc.constantFrom(...CHANNELS);
const weighted: Array<[number, fc.Arbitrary<Command>]> = [
  [5, fc.tuple(pick, fc.subarray([...CHANNELS])).map(([n, channels]) => new Connect(n, channels))],
  [4, pick.map((n) => new Reconnect(n))],
  [2, fc.tuple(pick, channel, fc.boolean()).map(([n, name, join]) => new Membership(n, name, join))],
  [
    8,
    fc
      .tuple(
        fc.option(fc.subarray([...CHANNELS], { minLength: 1, maxLength: 2 }), { freq: 3, nil: undefined }),
        fc.option(fc.nat({ max: SLOTS - 1 }), { freq: 2, nil: undefined }),
        fc.boolean(),
      )
      .map(([channels, except, echoMe]) => new Broadcast(channels, except, echoMe)),
  ],
  [2, pick.map((n) => new SendTo(n))],
  [1, pick.map((n) => new ServerClose(n))],
  [2, fc.tuple(pick, fc.boolean()).map(([n, drain]) => new ClientClose(n, drain))],
  [2, pick.map((n) => new Pause(n))],
  [2, pick.map((n) => new Resume(n))],
  [1, fc.constant(null).map(() => new Checkpoint())],
];
const commandArbs = weighted.flatMap(([weight, arbitrary]) =>
  Array.from({ length: weight }, () => arbitrary),
);

describe('the hub against a model (seeded, bounded)', () => {
  beforeAll(async () => {
    t = await startApp({ controllers: [FuzzController] });
    hub = t.app.get(SseHub);
  });
  afterAll(async () => {
    for (const stream of everyStream) if (!stream.ended) stream.close();
    await t?.app.close();
  });

  it('every client gets what the model says, in id order, each once, whatever the commands', async () => {
    let run = 0;
    let commandsRun = 0;
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(
        fc.commands(commandArbs, { maxCommands: MAX_COMMANDS, size: 'max' }),
        async (commands) => {
          const world = new World(++run);
          let passed = false;
          try {
            await fc.asyncModelRun(() => ({ model: world, real: world }), commands);
            await world.finish();
            commandsRun += world.log.length;
            passed = true;
          } finally {
            // A failed run's own error is the one to report, not what its cleanup ran into.
            await world.cleanup().catch((error: unknown) => {
              if (passed) throw error;
            });
          }
        },
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: !process.env.HUB_MODEL_SHRINK },
    );
    console.log(
      `hub model: ${RUNS} runs, ${commandsRun} commands applied, ${Date.now() - started} ms (seed ${SEED}); ${JSON.stringify(stats)}`,
    );
    // The runs did reach the interesting cases.
    expect(stats.replayed).toBeGreaterThan(0);
    expect(stats.replayedEchoMe).toBeGreaterThan(0);
    expect(stats.echoes).toBeGreaterThan(0);
  }, 90_000);
});
