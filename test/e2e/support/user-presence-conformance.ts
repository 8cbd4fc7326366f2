import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Controller } from '@nestjs/common';
import { type SseClient, type SseGateway, SseHub, type SsePresence, SseRoute } from 'nestjs-sse-hub';
import { openSseStream, type SseTestStream } from 'nestjs-sse-hub/testing';
import { nextPresenceEvent, openMember } from './presence-events';
import { startApp, type TestApp } from './start-app';
import { type TransportHarness } from './transport-conformance';

@Controller('user-presence')
class UserPresenceController implements SseGateway {
  // `?user=ann` is the stream's user; without it, the stream has none. `red+blue` is a stream in both.
  @SseRoute(':rooms/events', {
    channels: (req) => String(req.params.rooms).split('+'),
    user: (req) => req.query.user,
    presence: (client) => ({ device: client.request.query.device ?? null }),
    keepAlive: false,
  })
  events() {}

  // First on the stream: the client's id.
  onJoin(client: SseClient) {
    return { event: 'hello', data: client.id };
  }
}

interface Instance extends TestApp {
  hub: SseHub;
}

/** The ids of a presence answer, sorted: what is compared, whichever order the server keeps. */
const idsOf = (presence: SsePresence) => presence.clients.map((client) => client.id).sort();

/**
 * Presence by user on one transport, through real apps: every entry carries its stream's
 * user (`undefined` for a stream without one), `presence({ user })` counts a user's
 * streams on every instance (with a channel too), and a stream leaves its user's presence
 * when it ends, when `closeUser` ends it, and when its instance dies without a goodbye.
 */
export function describeUserPresenceConformance(harness: TransportHarness): void {
  const where = harness.instances ? 'on two instances' : 'on one instance';
  // A part the transport does not offer is not declared at all: nothing here is skipped.
  const notOffered = ((): void => undefined) as unknown as typeof it;
  describe('presence by user', () => {
    const apps: Instance[] = [];
    const streams: SseTestStream[] = [];
    const children: ChildProcess[] = [];
    afterEach(async () => {
      for (const stream of streams.splice(0)) stream.close();
      for (const child of children.splice(0))
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const app of apps.splice(0)) await app.app.close();
      await harness.afterEach?.();
    });

    const newTopic = () => `u${randomUUID().replace(/-/g, '').slice(0, 20)}`;
    const start = async (topic: string): Promise<Instance> => {
      const transport = harness.make(topic);
      const app = await startApp({ controllers: [UserPresenceController] }, { transport });
      const instance = { ...app, hub: app.app.get(SseHub) };
      apps.push(instance);
      await harness.ready?.(transport);
      return instance;
    };
    /** Two instances on one topic where the transport spans instances; else one, twice. */
    const pair = async () => {
      const topic = newTopic();
      if (!harness.instances) {
        const a = await start(topic);
        return { a, b: a, topic };
      }
      const [a, b] = await Promise.all([start(topic), start(topic)]);
      return { a, b, topic };
    };
    const open = async (base: string, path: string) => {
      const stream = await openSseStream(base, path, { timeout: 15_000 });
      streams.push(stream);
      return stream;
    };
    /** Opens a stream in `rooms` as `user` (none without), and reads its hello: the client's id. */
    const join = async (on: Instance, rooms: string, user?: string, device = 'web') => {
      const query = new URLSearchParams({ device, ...(user !== undefined && { user }) });
      const stream = await open(on.url, `/user-presence/${rooms}/events?${query}`);
      const hello = await stream.nextEvent();
      if (hello.event !== 'hello') throw new Error(`expected the hello, got ${hello.event}: ${hello.data}`);
      return { stream, id: hello.data };
    };
    /** Polls `check` until it holds, for at most `ms`: presence kept on a server has no event to await. */
    const eventually = async (what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    /** Waits until `presence(query)` on every hub lists exactly `ids`. */
    const listed = async (hubs: SseHub[], query: { channel?: string; user?: string }, ids: string[]) => {
      for (const hub of hubs)
        await eventually(
          `presence(${JSON.stringify(query)}) lists ${ids.length} stream(s)`,
          async () => JSON.stringify(idsOf(await hub.presence(query))) === JSON.stringify([...ids].sort()),
        );
    };

    it(`lists each stream with its user ${where}, undefined (not null) for a stream without one`, async () => {
      const { a, b } = await pair();
      const annOnA = await join(a, 'x', 'ann', 'phone');
      const annOnB = await join(b, 'y', 'ann', 'laptop');
      const bob = await join(b, 'x', 'bob');
      const nobody = await join(a, 'x');
      const all = [annOnA.id, annOnB.id, bob.id, nobody.id];
      await listed([a.hub, b.hub], {}, all);
      for (const hub of [a.hub, b.hub]) {
        const { clients } = await hub.presence();
        expect(clients).toEqual(
          expect.arrayContaining([
            { id: annOnA.id, channels: ['x'], info: { device: 'phone' }, user: 'ann' },
            { id: annOnB.id, channels: ['y'], info: { device: 'laptop' }, user: 'ann' },
            { id: bob.id, channels: ['x'], info: { device: 'web' }, user: 'bob' },
          ]),
        );
        const anonymous = clients.find((client) => client.id === nobody.id)!;
        expect(anonymous).toMatchObject({ channels: ['x'], info: { device: 'web' } });
        // toEqual would take null for undefined: this does not.
        expect(anonymous.user).toBeUndefined();
        // A channel's presence carries the users too.
        expect((await hub.presence('x')).clients.map((client) => client.user ?? '(none)').sort()).toEqual([
          '(none)',
          'ann',
          'bob',
        ]);
      }
    });

    it(`counts a user's streams ${where} with presence({ user }), in a channel with { user, channel }, and never a stream without a user`, async () => {
      const { a, b } = await pair();
      const annOnA = await join(a, 'x', 'ann');
      const annOnB = await join(b, 'y', 'ann');
      const annInBoth = await join(b, 'x+y', 'ann');
      const bob = await join(a, 'x', 'bob');
      await join(a, 'x');
      await join(b, 'y');
      await listed([a.hub, b.hub], { user: 'ann' }, [annOnA.id, annOnB.id, annInBoth.id]);
      for (const hub of [a.hub, b.hub]) {
        const ann = await hub.presence({ user: 'ann' });
        expect(ann.count).toBe(3);
        expect(ann.clients.every((client) => client.user === 'ann')).toBe(true);
        expect(idsOf(await hub.presence({ user: 'ann', channel: 'x' }))).toEqual(
          [annOnA.id, annInBoth.id].sort(),
        );
        expect(idsOf(await hub.presence({ user: 'ann', channel: 'y' }))).toEqual(
          [annOnB.id, annInBoth.id].sort(),
        );
        expect(await hub.presence({ user: 'bob' })).toEqual({
          count: 1,
          clients: [{ id: bob.id, channels: ['x'], info: { device: 'web' }, user: 'bob' }],
        });
        expect(await hub.presence({ user: 'bob', channel: 'y' })).toEqual({ count: 0, clients: [] });
        expect(await hub.presence({ user: 'cyd' })).toEqual({ count: 0, clients: [] });
        // A query with a channel alone is a channel's presence, as presence('x') is.
        expect(idsOf(await hub.presence({ channel: 'x' }))).toEqual(idsOf(await hub.presence('x')));
        expect((await hub.presence({ channel: 'x' })).count).toBe(4);
      }
      // A joins B's stream to a channel: the user's presence in it follows.
      await a.hub.join(annOnB.id, 'x');
      await listed([a.hub, b.hub], { user: 'ann', channel: 'x' }, [annOnA.id, annOnB.id, annInBoth.id]);
      await b.hub.leave(annInBoth.id, 'x');
      await listed([a.hub, b.hub], { user: 'ann', channel: 'x' }, [annOnA.id, annOnB.id]);
      expect((await a.hub.presence({ user: 'ann' })).count).toBe(3);
    });

    it(`takes a stream out of its user's presence ${where} when it ends, and every one of them after closeUser`, async () => {
      const { a, b } = await pair();
      const annOnA = await join(a, 'x', 'ann');
      const annOnB = await join(b, 'x', 'ann');
      const bob = await join(b, 'x', 'bob');
      await listed([a.hub, b.hub], { user: 'ann' }, [annOnA.id, annOnB.id]);
      // The client goes away.
      annOnB.stream.close();
      await listed([a.hub, b.hub], { user: 'ann' }, [annOnA.id]);
      await listed([a.hub, b.hub], { user: 'ann', channel: 'x' }, [annOnA.id]);
      // The server ends another (from the other instance).
      const again = await join(b, 'y', 'ann');
      await listed([a.hub, b.hub], { user: 'ann' }, [annOnA.id, again.id]);
      await a.hub.close(again.id);
      await listed([a.hub, b.hub], { user: 'ann' }, [annOnA.id]);
      // Logged out everywhere: none of hers is left, and bob's stays.
      const third = await join(b, 'y', 'ann');
      await listed([a.hub, b.hub], { user: 'ann' }, [annOnA.id, third.id]);
      await b.hub.closeUser('ann');
      await Promise.all([annOnA.stream.closed(), third.stream.closed()]);
      await listed([a.hub, b.hub], { user: 'ann' }, []);
      expect(idsOf(await a.hub.presence({ user: 'bob' }))).toEqual([bob.id]);
      expect(idsOf(await b.hub.presence())).toEqual([bob.id]);
    });

    (harness.spawn ? it : notOffered)(
      "takes the streams of an instance killed without a goodbye out of their user's presence, and keeps the user's others",
      async () => {
        const ttl = 1_000;
        const { a, b, topic } = await pair();
        const doomed = await harness.spawn!(topic, ttl);
        children.push(doomed.child);
        // On the dead-to-be instance: ann and bob, in room:x (its route, with a user option).
        const annThere = await openMember(open, doomed.url, 'x', 'ann');
        const bobThere = await openMember(open, doomed.url, 'x', 'bob');
        const annHere = await join(a, 'room:x', 'ann');
        await listed([a.hub, b.hub], { user: 'ann' }, [annHere.id, annThere.id]);
        await listed([a.hub, b.hub], { user: 'ann', channel: 'room:x' }, [annHere.id, annThere.id]);
        await listed([a.hub], { user: 'bob' }, [bobThere.id]);
        expect((await a.hub.presence({ user: 'ann' })).clients.map((client) => client.user)).toEqual([
          'ann',
          'ann',
        ]);
        doomed.child.kill('SIGKILL');
        await once(doomed.child, 'exit');
        // Bounded by the TTL (and the others' next heartbeat), with room for a loaded machine.
        await listed([a.hub, b.hub], { user: 'ann' }, [annHere.id]);
        await listed([a.hub, b.hub], { user: 'ann', channel: 'room:x' }, [annHere.id]);
        await listed([a.hub, b.hub], { user: 'bob' }, []);
        expect(idsOf(await b.hub.presence('room:x'))).toEqual([annHere.id]);
        // A live instance's heartbeat claims the dead one's streams (users and all): its leave
        // event says so (a claim that failed on the server, say a key in another hash slot, sends none).
        expect(await nextPresenceEvent(annHere.stream, annThere.id)).toEqual({
          event: 'leave',
          data: { channel: 'room:x', id: annThere.id, info: { user: 'ann' } },
        });
        await listed([a.hub, b.hub], { user: 'ann' }, [annHere.id]);
        // She opens another: counted with the one she kept.
        const annAgain = await join(b, 'room:x', 'ann');
        await listed([a.hub, b.hub], { user: 'ann' }, [annHere.id, annAgain.id]);
      },
      60_000,
    );
  });
}
