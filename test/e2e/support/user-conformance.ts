import { Controller } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  type SseClient,
  type SseCloseReason,
  type SseGateway,
  SseHub,
  SseRoute,
  type SseTransport,
} from 'nestjs-sse-hub';
import { openSseStream, type SseTestEvent, type SseTestStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './start-app';
import { type TransportHarness } from './transport-conformance';

/** How each stream ended, by client id (onClose). */
const closeReasons = new Map<string, SseCloseReason>();

@Controller('users')
class UserConformanceController implements SseGateway {
  // The user comes from a header, as from a guard's req.user; none without it. `red+blue` is in both channels.
  @SseRoute(':rooms/events', {
    keepAlive: false,
    channels: (req) => String(req.params.rooms).split('+'),
    user: (req) => req.headers['x-user'] || undefined,
  })
  events() {}

  // First on the stream (after a resync): the client's id and user, for the test to know it.
  onJoin(client: SseClient) {
    return { event: 'hello', data: { id: client.id, user: client.user ?? null } };
  }

  onClose(client: SseClient, reason: SseCloseReason) {
    closeReasons.set(client.id, reason);
  }
}

interface Instance extends TestApp {
  hub: SseHub;
  transport: SseTransport;
}

interface Opened {
  stream: SseTestStream;
  /** The client's id (its hello). */
  id: string;
  resync?: SseTestEvent;
}

/**
 * Users on one transport, through real apps: a broadcast to `users` reaches their streams
 * on every instance and no one else's; on reconnect it is replayed to those users' streams
 * only, whatever id another user's client comes back with; `closeUser` ends every stream
 * of the user, wherever it is.
 */
export function describeUserConformance(harness: TransportHarness): void {
  const where = harness.instances ? 'on two instances' : 'on one instance';
  describe('users', () => {
    const apps: Instance[] = [];
    const streams: SseTestStream[] = [];
    afterEach(async () => {
      for (const stream of streams.splice(0)) stream.close();
      for (const app of apps.splice(0)) await app.app.close();
      closeReasons.clear();
      await harness.afterEach?.();
    });

    const start = async (topic: string): Promise<Instance> => {
      const transport = harness.make(topic);
      const app = await startApp({ controllers: [UserConformanceController] }, { transport });
      const instance = { ...app, hub: app.app.get(SseHub), transport };
      apps.push(instance);
      await harness.ready?.(transport);
      return instance;
    };
    const pair = async () => {
      const topic = `u${randomUUID().replace(/-/g, '').slice(0, 20)}`;
      if (!harness.instances) {
        const a = await start(topic);
        return { a, b: a };
      }
      const [a, b] = await Promise.all([start(topic), start(topic)]);
      return { a, b };
    };

    /** Opens a stream of `user` (none: anonymous) on `rooms`, read up to its hello. */
    const open = async (
      on: Instance,
      rooms: string,
      user?: string,
      lastEventId?: string,
    ): Promise<Opened> => {
      const headers: Record<string, string> = {};
      if (user) headers['x-user'] = user;
      if (lastEventId) headers['last-event-id'] = lastEventId;
      const stream = await openSseStream(on.url, `/users/${rooms}/events`, { headers, timeout: 15_000 });
      streams.push(stream);
      let event = await stream.nextEvent();
      let resync: SseTestEvent | undefined;
      if (event.event === 'resync') {
        resync = event;
        event = await stream.nextEvent();
      }
      if (event.event !== 'hello') throw new Error(`expected the hello, got ${event.event}: ${event.data}`);
      const hello = JSON.parse(event.data) as { id: string; user: string | null };
      expect(hello.user).toBe(user ?? null);
      return { stream, id: hello.id, resync };
    };
    /** The events of a stream up to (not including) the one whose data is `end`. */
    const until = async (stream: SseTestStream): Promise<SseTestEvent[]> => {
      const seen: SseTestEvent[] = [];
      for (;;) {
        const event = await stream.nextEvent();
        if (event.data === 'end') return seen;
        seen.push(event);
      }
    };
    const dataUntil = async (stream: SseTestStream) => (await until(stream)).map((event) => event.data);
    const say = (hub: SseHub, data: string, options: Parameters<SseHub['broadcast']>[1] = {}) =>
      hub.broadcast({ event: 'n', data }, options);

    it(`delivers a broadcast to users to those users' streams ${where}, and to no other stream`, async () => {
      const { a, b } = await pair();
      const aliceA = await open(a, 'red', 'alice');
      const aliceB = await open(b, 'blue', 'alice');
      const bobB = await open(b, 'red', 'bob');
      const carolA = await open(a, 'red+blue', 'carol');
      const anonymous = await open(a, 'red+blue');
      await say(b.hub, 'to alice', { users: 'alice' });
      await say(a.hub, 'to alice and bob', { users: ['alice', 'bob'] });
      // With channels too, a stream must be of one of the users and in one of the channels.
      await say(b.hub, 'to alice in red', { users: 'alice', channels: 'red' });
      await say(a.hub, 'to bob and carol in blue', { users: ['bob', 'carol'], channels: ['blue'] });
      await say(b.hub, 'to alice but not aliceB', { users: 'alice', except: aliceB.id });
      await say(a.hub, 'to no one', { users: 'dave' });
      await say(b.hub, 'to no user', { users: [] });
      await say(a.hub, 'to everyone');
      await say(b.hub, 'end');
      expect(await dataUntil(aliceA.stream)).toEqual([
        'to alice',
        'to alice and bob',
        'to alice in red',
        'to alice but not aliceB',
        'to everyone',
      ]);
      expect(await dataUntil(aliceB.stream)).toEqual(['to alice', 'to alice and bob', 'to everyone']);
      expect(await dataUntil(bobB.stream)).toEqual(['to alice and bob', 'to everyone']);
      expect(await dataUntil(carolA.stream)).toEqual(['to bob and carol in blue', 'to everyone']);
      expect(await dataUntil(anonymous.stream)).toEqual(['to everyone']);
    });

    it(`replays a user's broadcasts to that user's streams only, ${where}, whatever id another user's client reconnects with`, async () => {
      const { a, b } = await pair();
      const alice = await open(a, 'red+blue', 'alice');
      const bob = await open(b, 'red+blue', 'bob');
      const anonymous = await open(a, 'red+blue');
      // Interleaved: alice's secrets, in and out of channels, among broadcasts to everyone and to bob.
      const plan: Array<[string, Parameters<SseHub['broadcast']>[1]]> = [
        ['public 1', {}],
        ['alice secret 1', { users: 'alice' }],
        ['bob 1', { users: 'bob' }],
        ['alice secret 2', { users: ['alice'], channels: 'red' }],
        ['public 2', { channels: 'blue' }],
        ['alice and carol secret 3', { users: ['carol', 'alice'], channels: ['red', 'blue'] }],
        ['public 3', {}],
      ];
      for (const [n, [data, options]] of plan.entries()) await say((n % 2 ? a : b).hub, data, options);
      await say(a.hub, 'end');
      const aliceSaw = await until(alice.stream);
      const bobSaw = await until(bob.stream);
      expect(aliceSaw.map((event) => event.data)).toEqual([
        'public 1',
        'alice secret 1',
        'alice secret 2',
        'public 2',
        'alice and carol secret 3',
        'public 3',
      ]);
      expect(bobSaw.map((event) => event.data)).toEqual(['public 1', 'bob 1', 'public 2', 'public 3']);
      expect((await until(anonymous.stream)).map((event) => event.data)).toEqual([
        'public 1',
        'public 2',
        'public 3',
      ]);
      const secrets = new Set(['alice secret 1', 'alice secret 2', 'alice and carol secret 3']);
      // The attacker (bob, or a client without a user) comes back, on either instance, with
      // his own first id, with ids taken from alice's stream, and with ids older than all.
      const ids = [bobSaw[0].id!, ...aliceSaw.map((event) => event.id!)];
      for (const [n, lastEventId] of ids.entries()) {
        for (const user of ['bob', undefined]) {
          const back = await open(n % 2 ? a : b, 'red+blue', user, lastEventId);
          await say(a.hub, 'end');
          const replayed = (await dataUntil(back.stream)).filter((data) => secrets.has(data));
          expect({ user, lastEventId, replayed }).toEqual({ user, lastEventId, replayed: [] });
          back.stream.close();
        }
      }
      // Alice herself, back on the other instance after her first event, gets what she missed, once, in order.
      const aliceBack = await open(b, 'red+blue', 'alice', aliceSaw[0].id);
      expect(aliceBack.resync).toBeUndefined();
      const missed = await aliceBack.stream.take(5);
      expect(missed.map((event) => event.data)).toEqual(aliceSaw.slice(1).map((event) => event.data));
      expect(missed.map((event) => event.id)).toEqual(aliceSaw.slice(1).map((event) => event.id));
    });

    it(`ends every stream of a user with closeUser ${where} (reason server-closed), and no one else's`, async () => {
      const { a, b } = await pair();
      const aliceA = await open(a, 'red', 'alice');
      const aliceB = await open(b, 'blue', 'alice');
      const aliceB2 = await open(b, 'red+blue', 'alice');
      const bob = await open(b, 'red', 'bob');
      const anonymous = await open(a, 'red');
      await a.hub.closeUser('alice');
      await Promise.all([aliceA, aliceB, aliceB2].map((opened) => opened.stream.closed()));
      for (const opened of [aliceA, aliceB, aliceB2])
        expect(closeReasons.get(opened.id)).toBe('server-closed');
      await a.hub.closeUser('nobody');
      await say(a.hub, 'after');
      await say(b.hub, 'end');
      for (const opened of [bob, anonymous]) expect(await dataUntil(opened.stream)).toEqual(['after']);
      expect(closeReasons.has(bob.id) || closeReasons.has(anonymous.id)).toBe(false);
      expect(a.hub.clients().some((client) => client.user === 'alice')).toBe(false);
      expect(b.hub.clients().some((client) => client.user === 'alice')).toBe(false);
      // She may come back (the app's guard decides): her new stream gets her broadcasts.
      const again = await open(a, 'red', 'alice');
      await say(b.hub, 'welcome back', { users: 'alice' });
      await say(b.hub, 'end');
      expect(await dataUntil(again.stream)).toEqual(['welcome back']);
    });
  });
}
