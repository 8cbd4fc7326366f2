import { Controller } from '@nestjs/common';
import { type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { compareEventIds } from '../../../src/hub/event-id';
import {
  SseChannelNameError,
  type SseClient,
  type SseCloseReason,
  type SseGateway,
  SseHub,
  SseRoute,
  type SseTransport,
} from 'nestjs-sse-hub';
import { openSseStream, type SseTestEvent, type SseTestStream } from 'nestjs-sse-hub/testing';
import { describeRunConformance } from './run-conformance';
import { describeUserConformance } from './user-conformance';
import { startApp, type TestApp } from './start-app';
import { describeUserPresenceConformance } from './user-presence-conformance';

/**
 * How to run one transport through the conformance suite: what it is made of, and what
 * it offers (the suite checks what a transport offers, and leaves out the rest).
 */
export interface TransportHarness {
  /** False when what the transport needs is missing here (a server binary): the suite is declared but skipped. */
  available?: boolean;
  /**
   * A transport on `topic`, which every instance of one test shares (a Redis stream, a
   * PostgreSQL table) and no other test uses. `maxLen`: how many broadcasts it keeps for
   * replay, when a test wants few.
   */
  make(topic: string, options?: { maxLen?: number }): SseTransport;
  /** Resolves once the transport reads: what is published from then on reaches this instance's clients. */
  ready?(transport: SseTransport): Promise<void>;
  /** Messages reach other instances of the app, and a client can reconnect to any of them. */
  instances: boolean;
  /** `presence()` lists the streams of every instance. */
  presence: boolean;
  /** Restarts the server the transport talks to (resolves once it accepts connections again). */
  restart?: () => Promise<void>;
  /** What the transport had accepted is still there after `restart` (else it restarts empty). */
  restartKeepsHistory?: boolean;
  /**
   * Kills the transport's connections to its server while broadcasts run: called twice,
   * with round 0 then 1 (a harness may kill only the readers first, then everything).
   */
  killConnections?: (round: number) => Promise<void>;
  /**
   * Starts an instance of the app on the transport for `topic`, in a process of its own
   * (instance.child.js, with `presenceTtl`), for a test to kill without a goodbye.
   */
  spawn?: (topic: string, presenceTtl: number) => Promise<{ url: string; child: ChildProcess }>;
  /** Makes the server forget what the transport loaded into it (Redis: `SCRIPT FLUSH`), as a restart or a failover does. */
  forgetScripts?: () => Promise<void>;
  /** Whether a rejected broadcast was refused because the server is away (default: an `SseTransportUnavailableError`). */
  unavailable?: (error: unknown) => boolean;
  beforeAll?: () => Promise<void>;
  /** Releases what `make` made beyond the transport (the app closes the transport itself). */
  afterEach?: () => Promise<void>;
  afterAll?: () => Promise<void>;
}

/** How each stream ended, by client id (onClose). */
const closeReasons = new Map<string, SseCloseReason>();

@Controller('conformance')
class ConformanceController implements SseGateway {
  // `red+blue` is a stream in both channels.
  @SseRoute(':rooms/events', {
    channels: (req) => String(req.params.rooms).split('+'),
    keepAlive: false,
    presence: (client) => ({ user: client.request.query.user ?? null }),
  })
  events() {}

  // Presence info that JSON cannot encode, as an app gets it from an ORM: a BigInt id, an entity with a cycle.
  @SseRoute('bad-presence/:kind/events', {
    keepAlive: false,
    presence: (client) => unencodable(String(client.request.params.kind)),
  })
  badPresence() {}

  // First on the stream (after a resync, ahead of anything replayed): the client's id.
  onJoin(client: SseClient) {
    return { event: 'hello', data: client.id };
  }

  onClose(client: SseClient, reason: SseCloseReason) {
    closeReasons.set(client.id, reason);
  }
}

function unencodable(kind: string): unknown {
  if (kind === 'bigint') return { id: 42n };
  const entity: Record<string, unknown> = { id: 1 };
  entity.self = entity;
  return entity;
}

interface Instance extends TestApp {
  hub: SseHub;
  transport: SseTransport;
}

interface Joined {
  stream: SseTestStream;
  /** The client's id (its hello). */
  id: string;
  /** The resync that came ahead of the hello, for a Last-Event-ID the transport could not replay from. */
  resync?: SseTestEvent;
}

/**
 * One suite for every transport, on real Nest apps on real ports: broadcasts, channels,
 * `sendTo`, `close`, `join`/`leave` (from another instance where the transport spans
 * instances), presence, replay on any instance while broadcasts race, resync, and what
 * happens when connections are killed, the server restarts, or an instance starts late.
 */
export function describeTransportConformance(name: string, harness: TransportHarness): void {
  const isUnavailable =
    harness.unavailable ??
    ((error: unknown) => (error as Error | undefined)?.name === 'SseTransportUnavailableError');
  const where = harness.instances ? 'on two instances' : 'on one instance';
  // A part the transport does not offer is not declared at all: nothing here is skipped.
  const notOffered = ((): void => undefined) as unknown as typeof it;

  (harness.available === false ? describe.skip : describe)(`transport conformance: ${name}`, () => {
    const apps: Instance[] = [];
    const streams: SseTestStream[] = [];

    beforeAll(async () => harness.beforeAll?.(), 120_000);
    afterAll(async () => harness.afterAll?.(), 60_000);
    // Resumable runs, on the same server.
    describeRunConformance(harness);
    // Users: delivery, replay isolation, closeUser and presence by user, on the same server.
    describeUserConformance(harness);
    describeUserPresenceConformance(harness);
    afterEach(async () => {
      for (const stream of streams.splice(0)) stream.close();
      for (const app of apps.splice(0)) await app.app.close();
      closeReasons.clear();
      await harness.afterEach?.();
    });

    const newTopic = () => `t${randomUUID().replace(/-/g, '').slice(0, 20)}`;

    /** An app on the transport for `topic`, once it reads. */
    const start = async (topic: string, options?: { maxLen?: number }): Promise<Instance> => {
      const transport = harness.make(topic, options);
      const app = await startApp({ controllers: [ConformanceController] }, { transport });
      const instance = { ...app, hub: app.app.get(SseHub), transport };
      apps.push(instance);
      await harness.ready?.(transport);
      return instance;
    };

    /** Two instances on one topic where the transport spans instances; else one, twice. */
    const pair = async (options?: { maxLen?: number }) => {
      const topic = newTopic();
      if (!harness.instances) {
        const a = await start(topic, options);
        return { a, b: a, topic };
      }
      const [a, b] = await Promise.all([start(topic, options), start(topic, options)]);
      return { a, b, topic };
    };

    /** Opens a stream on `rooms` (`red`, `red+blue`) and reads up to its hello: the client's id. */
    const join = async (
      on: Instance,
      rooms: string,
      { lastEventId, user }: { lastEventId?: string; user?: string } = {},
    ): Promise<Joined> => {
      const stream = await openSseStream(
        on.url,
        `/conformance/${rooms}/events${user ? `?user=${user}` : ''}`,
        {
          headers: lastEventId ? { 'last-event-id': lastEventId } : {},
          timeout: 15_000,
        },
      );
      streams.push(stream);
      let event = await stream.nextEvent();
      let resync: SseTestEvent | undefined;
      if (event.event === 'resync') {
        resync = event;
        event = await stream.nextEvent();
      }
      if (event.event !== 'hello') throw new Error(`expected the hello, got ${event.event}: ${event.data}`);
      return { stream, id: event.data, resync };
    };

    /** Broadcasts and says whether the transport took it: false when it refused because its server is away (and only then). */
    const taken = (hub: SseHub, data: string, channels = 'x'): Promise<boolean> =>
      hub.broadcast({ event: 'n', data }, { channels }).then(
        () => true,
        (error: unknown) => {
          if (isUnavailable(error)) return false;
          throw error;
        },
      );

    /** Broadcasts until it is taken (the server may be coming back), for at most `ms`. */
    const broadcastSurely = async (hub: SseHub, data: string, channels = 'x', ms = 20_000): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!(await taken(hub, data, channels))) {
        if (Date.now() > deadline) throw new Error(`the broadcast of ${data} was refused for ${ms} ms`);
        await sleep(20);
      }
    };

    /** The events of a stream up to (not including) the one whose data is `marker`. */
    const until = async (stream: SseTestStream, marker = 'end'): Promise<SseTestEvent[]> => {
      const seen: SseTestEvent[] = [];
      for (;;) {
        const event = await stream.nextEvent();
        if (event.data === marker) return seen;
        seen.push(event);
      }
    };
    const dataUntil = async (stream: SseTestStream, marker = 'end') =>
      (await until(stream, marker)).map((event) => event.data);

    /** Polls `check` until it holds, for at most `ms`: for what has no event to await (presence kept on a server). */
    const eventually = async (what: string, check: () => Promise<boolean>, ms = 5_000): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
        await sleep(25);
      }
    };

    it(`broadcasts to every client ${where}, each event once, with one order of ids`, async () => {
      const { a, b } = await pair();
      const clients = [await join(a, 'red'), await join(b, 'red'), await join(b, 'blue')];
      await a.hub.broadcast({ event: 'news', data: 'from A' });
      await b.hub.broadcast({ event: 'news', data: 'from B' }, { channels: 'red' });
      await a.hub.broadcast({ event: 'news', data: 'end' });
      const seen = await Promise.all(clients.map((client) => until(client.stream)));
      expect(seen.map((events) => events.map((event) => event.data))).toEqual([
        ['from A', 'from B'],
        ['from A', 'from B'],
        ['from A'],
      ]);
      // The transport's ids: the same for every client, wherever it is, and increasing.
      const [ids] = seen.map((events) => events.map((event) => event.id!));
      expect(seen[1].map((event) => event.id)).toEqual(ids);
      expect(seen[2][0].id).toBe(ids[0]);
      expect(compareEventIds(ids[0], ids[1])).toBeLessThan(0);
    });

    it(`delivers broadcasts called on one instance in the order they were called, across turns, awaited or not${harness.forgetScripts ? ', while the server forgets its scripts' : ''}`, async () => {
      const { a, b } = await pair();
      const clients = [await join(a, 'x'), await join(b, 'x')];
      const TURNS = 20;
      const PER_TURN = 200;
      const published: Array<Promise<void>> = [];
      // Turns that do not await each other: each turn's batch may still be on its way when the next is made.
      for (let turn = 0; turn < TURNS; turn++) {
        if (harness.forgetScripts && turn % 5 === 0) await harness.forgetScripts();
        for (let i = 0; i < PER_TURN; i++)
          published.push(
            a.hub.broadcast({ event: 'n', data: String(turn * PER_TURN + i) }, { channels: 'x' }),
          );
        await nextTurn();
      }
      await Promise.all(published);
      await a.hub.broadcast({ event: 'n', data: 'end' }, { channels: 'x' });
      const expected = Array.from({ length: TURNS * PER_TURN }, (_, n) => String(n));
      for (const client of clients) {
        const got = await until(client.stream);
        const values = got.map((event) => event.data);
        // The first place where the order broke says more than a diff of 4,000 lines.
        const firstWrong = values.findIndex((value, n) => value !== expected[n]);
        expect({
          firstWrong,
          around: firstWrong < 0 ? [] : values.slice(Math.max(0, firstWrong - 2), firstWrong + 3),
          count: values.length,
        }).toEqual({ firstWrong: -1, around: [], count: expected.length });
        const ids = got.map((event) => event.id!);
        for (let n = 1; n < ids.length; n++)
          if (compareEventIds(ids[n - 1], ids[n]) >= 0)
            throw new Error(`ids not increasing at ${n}: ${ids[n - 1]} then ${ids[n]}`);
      }
    }, 60_000);

    it(`delivers to channels and leaves out \`except\`, ${where}; a stream in two channels gets a broadcast to both once`, async () => {
      const { a, b } = await pair();
      const redA = await join(a, 'red');
      const blueB = await join(b, 'blue');
      const redB = await join(b, 'red');
      const bothA = await join(a, 'red+blue');
      await b.hub.broadcast({ event: 'news', data: 'to red' }, { channels: 'red' });
      await a.hub.broadcast({ event: 'news', data: 'to blue' }, { channels: 'blue' });
      await b.hub.broadcast({ event: 'news', data: 'to red and blue' }, { channels: ['red', 'blue'] });
      await a.hub.broadcast(
        { event: 'news', data: 'to red but not redA' },
        { channels: 'red', except: redA.id },
      );
      await a.hub.broadcast({ event: 'news', data: 'to green' }, { channels: 'green' });
      await b.hub.broadcast({ event: 'news', data: 'end' });
      expect(await dataUntil(redA.stream)).toEqual(['to red', 'to red and blue']);
      expect(await dataUntil(blueB.stream)).toEqual(['to blue', 'to red and blue']);
      expect(await dataUntil(redB.stream)).toEqual(['to red', 'to red and blue', 'to red but not redA']);
      expect(await dataUntil(bothA.stream)).toEqual([
        'to red',
        'to blue',
        'to red and blue',
        'to red but not redA',
      ]);
    });

    it(`sends to one client ${where} with sendTo, without an id, and to no one for an unknown id`, async () => {
      const { a, b } = await pair();
      const onA = await join(a, 'x');
      const onB = await join(b, 'x');
      await a.hub.sendTo(onB.id, { event: 'direct', data: 'to B' });
      await b.hub.sendTo(onA.id, { event: 'direct', data: 'to A' });
      await a.hub.sendTo('no-such-client', { event: 'direct', data: 'to no one' });
      await b.hub.broadcast({ event: 'news', data: 'end' });
      const [toA, toB] = await Promise.all([until(onA.stream), until(onB.stream)]);
      expect(toA).toEqual([expect.objectContaining({ event: 'direct', data: 'to A', id: undefined })]);
      expect(toB).toEqual([expect.objectContaining({ event: 'direct', data: 'to B', id: undefined })]);
    });

    it(`closes one client's stream ${where} (reason server-closed), and only that one`, async () => {
      const { a, b } = await pair();
      const doomed = await join(b, 'x');
      const stays = await join(b, 'x');
      const onA = await join(a, 'x');
      await a.hub.close(doomed.id);
      await doomed.stream.closed();
      await eventually(
        'the closed stream is gone from the hub',
        async () =>
          closeReasons.has(doomed.id) && !b.hub.clients('x').some((client) => client.id === doomed.id),
      );
      expect(closeReasons.get(doomed.id)).toBe('server-closed');
      await a.hub.broadcast({ event: 'news', data: 'after' }, { channels: 'x' });
      await a.hub.broadcast({ event: 'news', data: 'end' });
      for (const client of [stays, onA]) expect(await dataUntil(client.stream)).toEqual(['after']);
      expect(closeReasons.has(stays.id)).toBe(false);
    });

    it(`joins and leaves a client ${harness.instances ? 'of another instance ' : ''}to and from channels, in order with the broadcasts around it`, async () => {
      const { a, b } = await pair();
      const onB = await join(b, 'red');
      await a.hub.broadcast({ event: 'news', data: 'before' }, { channels: 'blue' });
      await a.hub.join(onB.id, 'blue');
      await a.hub.broadcast({ event: 'news', data: 'joined' }, { channels: 'blue' });
      await a.hub.leave(onB.id, ['blue']);
      await a.hub.broadcast({ event: 'news', data: 'left' }, { channels: 'blue' });
      await a.hub.broadcast({ event: 'news', data: 'red' }, { channels: 'red' });
      await a.hub.join(onB.id, ['green', 'blue']);
      await b.hub.broadcast({ event: 'news', data: 'green' }, { channels: 'green' });
      await a.hub.broadcast({ event: 'news', data: 'end' });
      expect(await dataUntil(onB.stream)).toEqual(['joined', 'red', 'green']);
    });

    it('refuses a channel name no transport can store (NUL, a lone surrogate) alike: 400 before the stream, and presence keeps every other stream', async () => {
      const { a, b } = await pair();
      const kept = await join(a, 'red');
      const refused = await fetch(`${a.url}/conformance/x%00y/events`, {
        headers: { accept: 'text/event-stream' },
      });
      expect(refused.status).toBe(400);
      expect((await refused.json()).message).toMatch(/cannot be a channel name: it contains NUL/);
      await expect(a.hub.broadcast({ event: 'n', data: 'x' }, { channels: 'a\0b' })).rejects.toThrow(
        SseChannelNameError,
      );
      await expect(a.hub.broadcast({ event: 'n', data: 'x' }, { channels: 'a\ud800' })).rejects.toThrow(
        /lone surrogate/,
      );
      await expect(a.hub.join(kept.id, 'a\0b')).rejects.toThrow(SseChannelNameError);
      await expect(b.hub.presence('a\0b')).rejects.toThrow(SseChannelNameError);
      await expect(a.hub.broadcast({ event: 'n', data: 'x' }, { idempotencyKey: 'k\0' })).rejects.toThrow(
        /idempotencyKey/,
      );
      // A stream that joins one from its own code is told so, and keeps its stream.
      expect(() => a.hub.clients()[0].join('\udc00')).toThrow(SseChannelNameError);
      if (harness.presence) {
        await eventually(
          'the stream is in presence on every instance',
          async () => (await b.hub.presence('red')).count === 1,
        );
        expect((await b.hub.presence()).clients.map((client) => client.id)).toEqual([kept.id]);
      }
      await b.hub.broadcast({ event: 'n', data: 'still' }, { channels: 'red' });
      expect((await kept.stream.nextEvent()).data).toBe('still');
    });

    it('refuses a stream whose presence info JSON cannot encode (BigInt, a cycle) with a 500 and an error naming the route, alike on every transport, and carries on', async () => {
      const { a, b } = await pair();
      const kept = await join(a, 'red');
      for (const kind of ['bigint', 'circular']) {
        const refused = await fetch(`${a.url}/conformance/bad-presence/${kind}/events`, {
          headers: { accept: 'text/event-stream' },
        });
        expect(refused.status).toBe(500);
        expect(await refused.text()).not.toContain('presence option');
      }
      // Nest's loggers write to the app made last: either of the two.
      const logged = [a, b].flatMap((app) => app.logger.errors()).join('\n');
      expect(logged).toMatch(
        /The presence option of GET \/conformance\/bad-presence\/:kind\/events returned a value that cannot be encoded as JSON \(.*BigInt/,
      );
      expect(logged).toMatch(
        /bad-presence\/:kind\/events returned a value that cannot be encoded as JSON \(.*circular/i,
      );
      expect(a.hub.count()).toBe(1);
      if (harness.presence)
        await eventually(
          'only the kept stream is in presence',
          async () => (await b.hub.presence()).count === 1,
        );
      // Past the time a transport's presence write would have failed (the crash came ~1.5 s after).
      await b.hub.broadcast({ event: 'n', data: 'still' }, { channels: 'red' });
      expect((await kept.stream.nextEvent()).data).toBe('still');
      if (harness.presence)
        expect((await a.hub.presence()).clients.map((client) => client.id)).toEqual([kept.id]);
    });

    (harness.presence ? it : notOffered)(
      'lists the streams of every instance in presence(), by channel, with their info',
      async () => {
        const { a, b } = await pair();
        const ann = await join(a, 'x', { user: 'ann' });
        const bob = await join(b, 'x', { user: 'bob' });
        const cyd = await join(b, 'y', { user: 'cyd' });
        for (const hub of [a.hub, b.hub]) {
          // An instance's changes reach the server in the background: the other may not see them at once.
          await eventually('every stream is in presence', async () => (await hub.presence()).count === 3);
          const all = await hub.presence();
          expect(all.count).toBe(3);
          expect(all.clients).toEqual(
            expect.arrayContaining([
              { id: ann.id, channels: ['x'], info: { user: 'ann' } },
              { id: bob.id, channels: ['x'], info: { user: 'bob' } },
              { id: cyd.id, channels: ['y'], info: { user: 'cyd' } },
            ]),
          );
          expect(
            (await hub.presence('x')).clients.map((client) => (client.info as { user: string }).user).sort(),
          ).toEqual(['ann', 'bob']);
        }
        // count() stays this instance's.
        expect([a.hub.count(), b.hub.count()]).toEqual(harness.instances ? [1, 2] : [3, 3]);
        await a.hub.join(cyd.id, 'x');
        await eventually('presence shows the join', async () => (await a.hub.presence('x')).count === 3);
        ann.stream.close();
        await eventually(
          'presence forgets a stream that ended',
          async () => (await b.hub.presence('x')).count === 2,
        );
        expect((await b.hub.presence()).clients.map((client) => client.id).sort()).toEqual(
          [bob.id, cyd.id].sort(),
        );
      },
    );

    it(`replays on whichever instance a client reconnects to, with no gap and no duplicate while broadcasts race`, async () => {
      const { a, b } = await pair();
      const reference = await join(a, 'x');
      const TOTAL = 300;
      const broadcasting = (async () => {
        for (let n = 0; n < TOTAL; n++) {
          await (n % 2 ? a : b).hub.broadcast({ event: 'n', data: String(n) }, { channels: 'x' });
          if (n % 5 === 0) await nextTurn();
        }
      })();
      try {
        // A client that hops between the instances, reconnecting with the last id it saw.
        const hopped: Array<{ id?: string; data: string }> = [];
        let lastEventId: string | undefined;
        for (let hop = 0; hop < 8; hop++) {
          const { stream, resync } = await join(hop % 2 ? b : a, 'x', { lastEventId });
          expect(resync).toBeUndefined();
          for (const event of await stream.take(20)) {
            hopped.push({ id: event.id, data: event.data });
            lastEventId = event.id;
          }
          stream.close();
        }
        await broadcasting;
        const expected = (await reference.stream.take(TOTAL)).map((event) => ({
          id: event.id,
          data: event.data,
        }));
        expect(expected.map((event) => event.data)).toEqual(
          Array.from({ length: TOTAL }, (_, n) => String(n)),
        );
        // The hopper's events are exactly the reference's, from where it first joined, in order.
        const startAt = expected.findIndex((event) => event.id === hopped[0].id);
        expect(startAt).toBeGreaterThanOrEqual(0);
        expect(hopped).toEqual(expected.slice(startAt, startAt + hopped.length));
      } finally {
        await broadcasting.catch(() => undefined);
      }
    });

    it(`sends a resync for an id trimmed from the history and for an unknown one${harness.instances ? ', on another instance' : ''}, and replays one still kept`, async () => {
      const maxLen = 10;
      const { a, b } = await pair({ maxLen });
      const first = await join(a, 'x');
      const TOTAL = maxLen * 50;
      for (let n = 0; n < TOTAL; n++)
        await a.hub.broadcast({ event: 'n', data: String(n) }, { channels: 'x' });
      const got = await first.stream.take(TOTAL);
      first.stream.close();
      // A transport may trim later than it publishes (PostgreSQL trims at most once a second):
      // the oldest must be gone within a few seconds. What has no event to await is polled.
      await eventually(
        `the history trims ${got[0].id} (maxLen ${maxLen}, ${TOTAL} published)`,
        async () => (await b.transport.history(got[0].id!)).status === 'gap',
        10_000,
      );
      // The oldest is trimmed; '1-0' is older than anything, the other later than anything.
      for (const lastEventId of [got[0].id!, '1-0', '999999999999999-0']) {
        const back = await join(b, 'x', { lastEventId });
        expect(back.resync).toMatchObject({ event: 'resync', data: JSON.stringify({ lastEventId }) });
        back.stream.close();
      }
      // The control: an id still kept replays what came after it, not a resync.
      const kept = await join(b, 'x', { lastEventId: got[TOTAL - 3].id! });
      expect(kept.resync).toBeUndefined();
      expect((await kept.stream.take(2)).map((event) => event.data)).toEqual([
        String(TOTAL - 2),
        String(TOTAL - 1),
      ]);
    });

    (harness.killConnections ? it : notOffered)(
      'delivers every broadcast that resolved exactly once, in order, to every client, across killed connections',
      async () => {
        const { a, b } = await pair();
        const clients = [await join(a, 'x'), await join(b, 'x'), await join(b, 'x')];
        const sent: string[] = [];
        const failed: string[] = [];
        const killsAt = [50, 100];
        let round = 0;
        // Until 150 broadcasts were taken, killing at 50 and 100; bounded in attempts.
        for (let n = 0; sent.length < 150 && n < 5000; n++) {
          if (round < killsAt.length && sent.length === killsAt[round])
            await harness.killConnections!(round++);
          const value = String(n);
          const ok = await taken((n % 2 ? a : b).hub, value);
          (ok ? sent : failed).push(value);
          // Refused: the transport is reconnecting; give it a moment rather than spin.
          if (!ok) await sleep(10);
          else if (n % 10 === 0) await nextTurn();
        }
        await broadcastSurely(a.hub, 'end');
        expect(sent).toHaveLength(150);
        expect(round).toBe(killsAt.length);
        for (const client of clients) {
          const got = await until(client.stream);
          expect(got.filter((event) => event.event !== 'n')).toEqual([]);
          const values = got.map((event) => event.data);
          // Exactly once and in order; every broadcast that resolved is there (a refused one may
          // be too: its connection may have broken after the server took it).
          expect(new Set(values).size).toBe(values.length);
          expect(values.map(Number)).toEqual([...values.map(Number)].sort((x, y) => x - y));
          expect(values.filter((value) => !failed.includes(value))).toEqual(sent);
        }
        console.log(
          `${name}, killed connections: ${sent.length} broadcasts taken, ${failed.length} refused meanwhile; all taken delivered once`,
        );
      },
      60_000,
    );

    (harness.restart ? it : notOffered)(
      harness.restartKeepsHistory
        ? 'after the server restarts (its history kept), events flow again, nothing accepted is lost or duplicated, and a reconnecting client replays across the restart'
        : 'after the server restarts empty, events flow again after a resync (what was lost is unknown), and a reconnecting client gets a resync',
      async () => {
        const { a, b } = await pair();
        const clients = [await join(a, 'x'), await join(b, 'x')];
        await a.hub.broadcast({ event: 'n', data: 'before' }, { channels: 'x' });
        const [before] = await clients[0].stream.take(1);
        await clients[1].stream.take(1);
        // Broadcasts run; the restart starts after 20 were taken (some perhaps not read yet by
        // the instances), and they go on until 20 more were taken after it.
        const sent: string[] = [];
        const failed: string[] = [];
        const sentAfter: string[] = [];
        let restarted = false;
        let restarting: Promise<unknown> | undefined;
        try {
          for (let n = 0; (!restarted || sentAfter.length < 20) && n < 5000; n++) {
            if (!restarting && sent.length === 20)
              restarting = harness.restart!().then(() => (restarted = true));
            const value = String(n);
            const afterRestart = restarted;
            const ok = await taken((n % 2 ? a : b).hub, value);
            (ok ? sent : failed).push(value);
            if (ok && afterRestart) sentAfter.push(value);
            if (!ok) await sleep(10);
            else if (n % 10 === 0) await nextTurn();
          }
        } finally {
          await restarting;
        }
        await broadcastSurely(a.hub, 'end');
        expect(sentAfter).toHaveLength(20);
        expect(sent.length).toBeGreaterThanOrEqual(40);
        const seen = await Promise.all(clients.map((client) => until(client.stream)));
        for (const got of seen) {
          const values = got.filter((event) => event.event === 'n').map((event) => event.data);
          expect(new Set(values).size).toBe(values.length);
          expect(values.map(Number)).toEqual([...values.map(Number)].sort((x, y) => x - y));
          if (harness.restartKeepsHistory) {
            expect(got.filter((event) => event.event !== 'n')).toEqual([]);
            expect(values.filter((value) => !failed.includes(value))).toEqual(sent);
          } else {
            // What the server lost is unknown: a resync says so; what it took since comes after.
            const resync = got.findIndex((event) => event.event === 'resync');
            expect(resync).toBeGreaterThanOrEqual(0);
            expect(got.slice(resync + 1).map((event) => event.data)).toEqual(
              expect.arrayContaining(sentAfter),
            );
          }
        }
        const back = await join(b, 'x', { lastEventId: before.id });
        if (harness.restartKeepsHistory) {
          expect(back.resync).toBeUndefined();
          expect(await dataUntil(back.stream)).toEqual(seen[0].map((event) => event.data));
        } else {
          expect(back.resync).toMatchObject({
            event: 'resync',
            data: JSON.stringify({ lastEventId: before.id }),
          });
        }
        console.log(
          `${name}, restart: ${sent.length} broadcasts taken (${sentAfter.length} after it was over), ${failed.length} refused meanwhile`,
        );
      },
      60_000,
    );

    (harness.instances ? it : notOffered)(
      'an instance started after broadcasts delivers only new ones live, and replays the earlier ones to a client that reconnects to it',
      async () => {
        const topic = newTopic();
        const a = await start(topic);
        const onA = await join(a, 'x');
        for (const data of ['old 1', 'old 2', 'old 3'])
          await a.hub.broadcast({ event: 'n', data }, { channels: 'x' });
        const old = await onA.stream.take(3);
        const b = await start(topic);
        const onB = await join(b, 'x');
        await a.hub.broadcast({ event: 'n', data: 'new' }, { channels: 'x' });
        await b.hub.broadcast({ event: 'n', data: 'end' }, { channels: 'x' });
        expect(await dataUntil(onB.stream)).toEqual(['new']);
        expect(await dataUntil(onA.stream)).toEqual(['new']);
        const back = await join(b, 'x', { lastEventId: old[0].id });
        expect(back.resync).toBeUndefined();
        expect(await dataUntil(back.stream)).toEqual(['old 2', 'old 3', 'new']);
      },
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
