import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Controller } from '@nestjs/common';
import { createClient } from 'redis';
import { type SseClient, type SseGateway, SseHub, SseRoute } from 'nestjs-sse-hub';
import { RedisStreamsTransport } from 'nestjs-sse-hub/redis';
import { CuttableProxy } from './support/redis-server';
import { openSseStream, type SseTestStream } from 'nestjs-sse-hub/testing';
import { findRedisServer, RedisServer } from './support/redis-server';
import { spawnInstance, within } from './support/instance-process';
import {
  expectLeaveThenJoinOfAPausedInstance,
  expectOneLeavePerChannelOfAKilledInstance,
  openMember,
} from './support/presence-events';
import { startApp, type TestApp } from './support/start-app';

/** What presence() answered from onClose, by the id of the stream that closed. */
const seenFromOnClose = new Map<string, string[]>();

@Controller('p')
class PresenceController implements SseGateway {
  constructor(private readonly hub: SseHub) {}

  // The same route as test/e2e/support/instance.child.js.
  @SseRoute(':room', {
    channels: (req) => `room:${req.params.room}`,
    user: (req) => req.query.user,
    presence: (client) => ({ user: client.request.query.user ?? null }),
    presenceEvents: true,
    keepAlive: false,
  })
  room() {}

  async onClose(client: SseClient) {
    if (client.request.query.ask !== 'yes') return;
    seenFromOnClose.set(
      client.id,
      (await this.hub.presence('room:x')).clients.map((entry) => entry.id),
    );
  }
}

const redisServer = findRedisServer();
const CAN_RUN = redisServer !== undefined;
if (!CAN_RUN && process.env.CI)
  throw new Error(
    'redis-server is missing and CI needs it: run `npm test` as root so test/support/ensure-tools.sh can install it.',
  );

interface Instance extends TestApp {
  hub: SseHub;
}

(CAN_RUN ? describe : describe.skip)('presence across instances on Redis', () => {
  let redis: RedisServer;
  const apps: Instance[] = [];
  const streams: SseTestStream[] = [];
  const children: ChildProcess[] = [];
  const start = async (stream: string, presenceTtl = 15_000) => {
    const transport = new RedisStreamsTransport({ url: redis.url, stream, presenceTtl });
    const app = await startApp({ controllers: [PresenceController] }, { transport });
    await transport.ready();
    const instance = { ...app, hub: app.app.get(SseHub) };
    apps.push(instance);
    return instance;
  };
  const open = async (base: string, path: string) => {
    const stream = await openSseStream(base, path, { timeout: 15_000 });
    streams.push(stream);
    return stream;
  };
  /** Opens a stream and reads its own join event: its id. */
  const member = (base: string, room: string, user: string) => openMember(open, base, room, user);

  beforeAll(async () => (redis = await RedisServer.start(redisServer)));
  afterAll(() => redis?.stop());
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    for (const app of apps.splice(0)) await app.app.close();
    for (const child of children.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('lists every stream of every instance, or those of a channel, with their info; join() from A shows a client of B', async () => {
    const key = `presence-${randomUUID()}`;
    const [a, b] = await Promise.all([start(key), start(key)]);
    const ann = await member(a.url, 'x', 'ann');
    const bob = await member(b.url, 'x', 'bob');
    const cyd = await member(b.url, 'y', 'cyd');
    const all = await a.hub.presence();
    expect(all.count).toBe(3);
    expect(all.clients).toEqual(
      expect.arrayContaining([
        { id: ann.id, channels: ['room:x'], info: { user: 'ann' }, user: 'ann' },
        { id: bob.id, channels: ['room:x'], info: { user: 'bob' }, user: 'bob' },
        { id: cyd.id, channels: ['room:y'], info: { user: 'cyd' }, user: 'cyd' },
      ]),
    );
    expect(
      (await b.hub.presence('room:x')).clients.map((client) => (client.info as { user: string }).user).sort(),
    ).toEqual(['ann', 'bob']);
    // count() and clients() stay this instance's.
    expect([a.hub.count(), b.hub.count()]).toEqual([1, 2]);
    // A puts B's client into a channel; B's members of it hear of it, and presence shows it.
    await a.hub.join(cyd.id, 'room:x');
    const joined = await bob.stream.nextEvent();
    expect(joined.event).toBe('join');
    expect(JSON.parse(joined.data)).toEqual({ channel: 'room:x', id: cyd.id, info: { user: 'cyd' } });
    await within(5_000, 'presence shows the join', async () => (await a.hub.presence('room:x')).count === 3);
    // A leaves: B's members hear of it, and it is out of presence.
    ann.stream.close();
    const left = await bob.stream.nextEvent();
    expect([left.event, JSON.parse(left.data).id]).toEqual(['leave', ann.id]);
    await within(
      5_000,
      'presence forgets a stream that ended',
      async () => (await b.hub.presence('room:x')).count === 2,
    );
  });

  it('forgets the streams of an instance killed without a goodbye, within its presence TTL', async () => {
    const key = `presence-${randomUUID()}`;
    const ttl = 1_000;
    const a = await start(key, ttl);
    const doomed = await spawnInstance({ REDIS_URL: redis.url, STREAM: key, PRESENCE_TTL: String(ttl) });
    children.push(doomed.child);
    await member(a.url, 'x', 'ann');
    for (const user of ['bob', 'cyd']) await member(doomed.url, 'x', user);
    await within(
      5_000,
      'both instances in presence',
      async () => (await a.hub.presence('room:x')).count === 3,
    );
    doomed.child.kill('SIGKILL');
    await once(doomed.child, 'exit');
    const took = await within(
      ttl * 5,
      "the killed instance's streams are gone from presence",
      async () => (await a.hub.presence('room:x')).count === 1,
    );
    console.log(`presence: a killed instance's streams were gone after ${took} ms (presenceTtl ${ttl} ms)`);
    expect((await a.hub.presence()).clients.map((client) => client.info)).toEqual([{ user: 'ann' }]);
  });

  it("sends the members of a killed instance's stream one leave per channel, from one of the live instances", async () => {
    const key = `presence-${randomUUID()}`;
    const ttl = 1_000;
    const [a, b] = await Promise.all([start(key, ttl), start(key, ttl)]);
    const doomed = await spawnInstance({ REDIS_URL: redis.url, STREAM: key, PRESENCE_TTL: String(ttl) });
    children.push(doomed.child);
    await expectOneLeavePerChannelOfAKilledInstance([a, b], doomed, ttl, open);
  }, 60_000);

  it('writes its streams into presence again after Redis restarts empty', async () => {
    const key = `presence-${randomUUID()}`;
    const a = await start(key, 1_000);
    const ann = await member(a.url, 'x', 'ann');
    expect((await a.hub.presence('room:x')).count).toBe(1);
    await redis.restart();
    const took = await within(
      10_000,
      'the stream is back in presence',
      async () => (await a.hub.presence('room:x').catch(() => ({ count: -1 }))).count === 1,
    );
    console.log(`presence: written again ${took} ms after Redis restarted empty`);
    // Its user's index too.
    await within(5_000, "the stream is back in its user's presence", async () =>
      (await a.hub.presence({ user: 'ann' })).clients.some((client) => client.id === ann.id),
    );
  });

  it("keeps each user's streams in a hash of their own, emptied as they end and by the instance that claims a killed one's", async () => {
    const key = `presence-${randomUUID()}`;
    const ttl = 1_000;
    const a = await start(key, ttl);
    const doomed = await spawnInstance({ REDIS_URL: redis.url, STREAM: key, PRESENCE_TTL: String(ttl) });
    children.push(doomed.child);
    const admin = await createClient({ url: redis.url }).connect();
    // The stream's name has no hash tag: its keys are tagged with the whole of it (keyBeside).
    const streamsOf = async (user: string) =>
      ((await admin.sendCommand(['HKEYS', `{${key}}:presence-user:${user}`])) as string[]).sort();
    try {
      const annHere = await member(a.url, 'x', 'ann');
      const annThere = await member(doomed.url, 'x', 'ann');
      const bobThere = await member(doomed.url, 'y', 'bob');
      await within(
        5_000,
        "both of ann's streams in her hash",
        async () => (await streamsOf('ann')).length === 2,
      );
      expect(await streamsOf('ann')).toEqual([annHere.id, annThere.id].sort());
      expect(await streamsOf('bob')).toEqual([bobThere.id]);
      doomed.child.kill('SIGKILL');
      await once(doomed.child, 'exit');
      // Not only left out of a read (the instance is dead): taken out, by the live instance's claim.
      await within(
        ttl * 10,
        "the killed instance's streams are out of their users' hashes",
        async () => (await streamsOf('bob')).length === 0 && (await streamsOf('ann')).length === 1,
      );
      expect(await streamsOf('ann')).toEqual([annHere.id]);
      annHere.stream.close();
      await within(
        5_000,
        'a stream that ended is out of its hash',
        async () => (await streamsOf('ann')).length === 0,
      );
      // Nothing of either is left behind.
      expect(
        await admin.sendCommand(['EXISTS', `{${key}}:presence-user:ann`, `{${key}}:presence-user:bob`]),
      ).toBe(0);
    } finally {
      await admin.close();
    }
  }, 60_000);

  it("answers presence() with this instance's own latest change, even from onClose", async () => {
    const a = await start(`presence-${randomUUID()}`);
    const ann = await member(a.url, 'x', 'ann');
    const bob = await open(a.url, '/p/x?user=bob&ask=yes');
    let bobId: string | undefined;
    while (!bobId) {
      const event = await bob.nextEvent();
      if (event.event === 'join' && JSON.parse(event.data).info.user === 'bob')
        bobId = JSON.parse(event.data).id;
    }
    bob.close();
    await within(5_000, 'onClose asked presence()', async () => seenFromOnClose.has(bobId!));
    expect(seenFromOnClose.get(bobId!)).toEqual([ann.id]);
  });

  it('takes its streams back into presence, and tells their members, after another instance took it for dead (a heartbeat later than the TTL)', async () => {
    const key = `presence-${randomUUID()}`;
    const ttl = 1_000;
    const a = await start(key, ttl);
    const paused = await spawnInstance({ REDIS_URL: redis.url, STREAM: key, PRESENCE_TTL: String(ttl) });
    children.push(paused.child);
    // Its members hear it leave, and come back.
    await expectLeaveThenJoinOfAPausedInstance(a, paused, open);
  });

  it('shuts down while Redis does not answer, without waiting on it', async () => {
    const proxy = await CuttableProxy.start(redis.port);
    try {
      const transport = new RedisStreamsTransport({ url: proxy.url, stream: `presence-${randomUUID()}` });
      const app = await startApp({ controllers: [PresenceController] }, { transport });
      await transport.ready();
      await member(app.url, 'x', 'ann');
      proxy.stall();
      // Bounded by the test's timeout: it used to wait for Redis for good.
      await app.app.close();
    } finally {
      await proxy.close();
    }
  });

  it('refuses a stream name whose keys could not share its hash slot', () => {
    expect(() => new RedisStreamsTransport({ stream: 'sse}v2' })).toThrow(/has a "}" but no hash tag/);
    expect(() => new RedisStreamsTransport({ stream: 'a{}{b}' })).toThrow(/no hash tag/);
    for (const fine of ['{t1}', 'x{y', '{app}:sse', 'sse-hub'])
      expect(() => new RedisStreamsTransport({ stream: fine }).close()).not.toThrow();
  });
});
