import { Body, Controller, Post } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createClient } from 'redis';
import { type SseClient, type SseGateway, SseHub, SseRoute, type SseTransport } from 'nestjs-sse-hub';
import { InMemoryTransport } from '../../src/internal';
import { RedisStreamsTransport, SseTransportUnavailableError } from 'nestjs-sse-hub/redis';
import { openSseStream, type SseTestStream } from 'nestjs-sse-hub/testing';
import { broadcastTaken, CuttableProxy, findRedisServer, RedisServer } from './support/redis-server';
import { startApp, type TestApp } from './support/start-app';

@Controller('r')
class RoomsController implements SseGateway {
  @SseRoute(':room/events', { channels: (req) => [req.params.room], keepAlive: false })
  events() {}

  // First on the stream, ahead of anything replayed: the client's id, for sendTo.
  onJoin(client: SseClient) {
    return { event: 'hello', data: client.id };
  }
}

// A route of the app that awaits a broadcast, as the README's do: no filter of its own.
@Controller('post')
class PostController {
  constructor(private readonly hub: SseHub) {}

  @Post()
  post(@Body() body: { text: string }) {
    return this.hub.broadcast({ event: 'n', data: body.text });
  }
}

interface Instance extends TestApp {
  hub: SseHub;
  transport: SseTransport;
}

async function instance(transport: SseTransport, { waitForRedis = true } = {}): Promise<Instance> {
  const app = await startApp({ controllers: [RoomsController, PostController] }, { transport });
  if (waitForRedis && transport instanceof RedisStreamsTransport) await transport.ready();
  return { ...app, hub: app.app.get(SseHub), transport };
}

/** Opens a stream and reads its hello: the client's id. */
async function join(
  on: Instance,
  room: string,
  headers: Record<string, string> = {},
): Promise<{ stream: SseTestStream; id: string }> {
  const stream = await openSseStream(on.url, `/r/${room}/events`, { headers, timeout: 15_000 });
  const hello = await stream.nextEvent();
  if (hello.event !== 'hello') throw new Error(`expected hello, got ${hello.event}`);
  return { stream, id: hello.data };
}

/** Broadcasts until it is taken (Redis may be reconnecting). */
async function broadcastSurely(hub: SseHub, value: unknown, channels: string): Promise<void> {
  for (;;) {
    try {
      return await hub.broadcast(value, { channels });
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Events of a stream up to (not including) the one whose data is `marker`. */
async function until(stream: SseTestStream, marker: string): Promise<string[]> {
  const seen: string[] = [];
  for (;;) {
    const event = await stream.nextEvent();
    if (event.data === marker) return seen;
    seen.push(event.data);
  }
}

const redisServer = findRedisServer();
const CAN_RUN = redisServer !== undefined;
if (!CAN_RUN) {
  if (process.env.CI)
    throw new Error(
      'redis-server is missing and CI needs it: run `npm test` as root so test/support/ensure-tools.sh can install it.',
    );
  console.warn(
    '\n⚠ redis-server is not installed: the Redis transport tests are skipped (npm test installs it).\n',
  );
}

// What every transport does (broadcast, channels, sendTo, close, join and leave, presence,
// replay on another instance, resync, killed connections, a restart, a late start) is
// checked by the conformance suite, on Redis in transport-conformance.redis.e2e-spec.ts;
// here, what is Redis's own.
(CAN_RUN ? describe : describe.skip)('RedisStreamsTransport: many instances on one real Redis', () => {
  let redis: RedisServer;
  const running: Instance[] = [];
  const start = async (transport: SseTransport, options?: { waitForRedis: boolean }) => {
    const started = await instance(transport, options);
    running.push(started);
    return started;
  };
  const stream = () => `sse-test-${randomUUID()}`;

  beforeAll(async () => (redis = await RedisServer.start(redisServer)));
  afterAll(() => redis?.stop());
  afterEach(async () => {
    for (const app of running.splice(0)) await app.app.close();
  });

  it('sends the broadcasts of one turn to Redis in one call, in order', async () => {
    const key = stream();
    const [a, b] = await Promise.all([
      start(new RedisStreamsTransport({ url: redis.url, stream: key })),
      start(new RedisStreamsTransport({ url: redis.url, stream: key })),
    ]);
    const onB = await join(b, 'red');
    const admin = await createClient({ url: redis.url }).connect();
    const scriptCalls = async () => {
      const info = (await admin.sendCommand(['INFO', 'commandstats'])) as string;
      return [...info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce(
        (sum, [, calls]) => sum + Number(calls),
        0,
      );
    };
    await a.hub.broadcast({ event: 'n', data: 'warm-up' }, { channels: 'red' });
    await onB.stream.nextEvent();
    const before = await scriptCalls();
    // 2,500 in one turn: three calls of at most 1,000, instead of 2,500 round trips.
    await Promise.all(
      Array.from({ length: 2500 }, (_, n) =>
        a.hub.broadcast({ event: 'n', data: String(n) }, { channels: 'red' }),
      ),
    );
    expect((await scriptCalls()) - before).toBe(3);
    const events = await onB.stream.take(2500);
    expect(events.map((event) => event.data)).toEqual(Array.from({ length: 2500 }, (_, n) => String(n)));
    await admin.close();
    onB.stream.close();
  });

  it.each([
    [
      'with an idempotency key, a retried broadcast whose reply was lost is delivered once',
      'order-1',
      ['lost reply', 'after'],
    ],
    [
      'without one, the same retry is delivered twice (the control)',
      undefined,
      ['lost reply', 'lost reply', 'after'],
    ],
  ])('%s', async (_, idempotencyKey, expected) => {
    const key = stream();
    const proxy = await CuttableProxy.start(redis.port);
    try {
      const [a, b] = await Promise.all([
        start(new RedisStreamsTransport({ url: proxy.url, stream: key })),
        start(new RedisStreamsTransport({ url: redis.url, stream: key })),
      ]);
      const onB = await join(b, 'x');
      // Redis has the append script (as after any broadcast): the stalled call is the broadcast itself, not a NOSCRIPT reply.
      await a.hub.broadcast({ event: 'n', data: 'warm-up' }, { channels: 'elsewhere' });
      // Redis takes the broadcast, and its reply never reaches A: the connection is cut first.
      proxy.stall();
      const lost = a.hub.broadcast({ event: 'n', data: 'lost reply' }, { channels: 'x', idempotencyKey });
      const delivered = await onB.stream.nextEvent();
      expect(delivered.data).toBe('lost reply');
      proxy.cut();
      await expect(lost).rejects.toBeInstanceOf(SseTransportUnavailableError);
      proxy.resume();
      // The caller retries, as it must not know whether Redis took it; bounded in attempts.
      let retried = false;
      for (let attempt = 0; !retried && attempt < 500; attempt++) {
        retried = await a.hub
          .broadcast({ event: 'n', data: 'lost reply' }, { channels: 'x', idempotencyKey })
          .then(
            () => true,
            async () => {
              await new Promise((resolve) => setTimeout(resolve, 10));
              return false;
            },
          );
      }
      expect(retried).toBe(true);
      await a.hub.broadcast({ event: 'n', data: 'after' }, { channels: 'x' });
      const rest = await onB.stream.take(expected.length - 1);
      expect([delivered, ...rest].map((event) => event.data)).toEqual(expected);
      onB.stream.close();
    } finally {
      await proxy.close();
    }
  });

  it('works with a client the app made itself, which it leaves open on shutdown', async () => {
    const key = stream();
    const own = createClient({ url: redis.url });
    const a = await start(new RedisStreamsTransport({ client: own, stream: key }));
    const b = await start(new RedisStreamsTransport({ url: redis.url, stream: key }));
    const onB = await join(b, 'red');
    await a.hub.broadcast({ event: 'news', data: 'through your client' }, { channels: 'red' });
    expect((await onB.stream.nextEvent()).data).toBe('through your client');
    onB.stream.close();
    await a.app.close();
    running.splice(running.indexOf(a), 1);
    // Still the app's: connected here, and left open for it to use and close.
    expect(own.isOpen).toBe(true);
    await own.close();
  });

  it('the in-process transport does not reach another instance (the control: nothing process-global fakes the distribution)', async () => {
    const [a, b] = await Promise.all([start(new InMemoryTransport()), start(new InMemoryTransport())]);
    const onB = await join(b, 'red');
    await a.hub.broadcast({ event: 'news', data: 'from A' }, { channels: 'red' });
    await b.hub.broadcast({ event: 'news', data: 'from B' }, { channels: 'red' });
    // B's own broadcast comes first and alone: A's never arrives.
    expect((await onB.stream.nextEvent()).data).toBe('from B');
    await a.hub.broadcast({ event: 'news', data: 'from A again' }, { channels: 'red' });
    await b.hub.broadcast({ event: 'news', data: 'marker' }, { channels: 'red' });
    expect((await onB.stream.nextEvent()).data).toBe('marker');
    onB.stream.close();
  });

  it.each([
    ['maxLen 10, nodes of 100 entries / 4 KiB (the defaults)', 10, 100, 4096, 60],
    ['maxLen 10, nodes of 5 entries (trimmed close to 10)', 10, 5, 4096, 60],
    ['maxLen 10, nodes of 1000 entries and no byte limit (Redis keeps all 61)', 10, 1000, 0, 60],
    ['maxLen 5000, 3000 back (more than one page)', 5000, 100, 4096, 3000],
  ])(
    'a replay is everything after the id or a resync, never a part: %s',
    async (_what, maxLen, nodeEntries, nodeBytes, back) => {
      const admin = await createClient({ url: redis.url }).connect();
      try {
        await admin.sendCommand(['CONFIG', 'SET', 'stream-node-max-entries', String(nodeEntries)]);
        await admin.sendCommand(['CONFIG', 'SET', 'stream-node-max-bytes', String(nodeBytes)]);
        const key = stream();
        const a = await start(new RedisStreamsTransport({ url: redis.url, stream: key, maxLen }));
        const first = await join(a, 'x');
        await a.hub.broadcast({ event: 'n', data: 'seen' }, { channels: 'x' });
        const seen = await first.stream.nextEvent();
        first.stream.close();
        for (let n = 0; n < back; n++)
          await a.hub.broadcast({ event: 'n', data: String(n) }, { channels: 'x' });
        // Whether Redis still has the entry the client saw last decides which answer is right.
        const kept =
          ((await admin.sendCommand(['XRANGE', key, seen.id!, seen.id!])) as unknown[]).length === 1;
        const again = await openSseStream(a.url, '/r/x/events', {
          headers: { 'last-event-id': seen.id! },
          timeout: 15_000,
        });
        const head = await again.nextEvent();
        if (kept) {
          expect(head.event).toBe('hello');
          const replayed = (await again.take(back)).map((event) => event.data);
          expect(replayed).toEqual(Array.from({ length: back }, (_, n) => String(n)));
        } else {
          expect(head).toMatchObject({ event: 'resync', data: JSON.stringify({ lastEventId: seen.id }) });
        }
        console.log(
          `replay, maxLen ${maxLen}, nodes of ${nodeEntries} entries / ${nodeBytes} bytes, ${back} back: ${kept ? `kept, all ${back} replayed` : 'trimmed, resync'}`,
        );
        again.close();
      } finally {
        await admin.sendCommand(['CONFIG', 'SET', 'stream-node-max-entries', '100']);
        await admin.sendCommand(['CONFIG', 'SET', 'stream-node-max-bytes', '4096']);
        await admin.close();
      }
    },
  );

  it('an instance whose reader falls behind the trimming says so once and sends its clients a resync, then goes on live', async () => {
    const key = stream();
    const proxy = await CuttableProxy.start(redis.port);
    try {
      // A reads through a proxy the test can stall; B publishes straight to Redis.
      const a = await start(new RedisStreamsTransport({ url: proxy.url, stream: key, maxLen: 10 }));
      const b = await start(new RedisStreamsTransport({ url: redis.url, stream: key, maxLen: 10 }));
      const onA = await join(a, 'x');
      await b.hub.broadcast({ event: 'n', data: 'first' }, { channels: 'x' });
      expect((await onA.stream.nextEvent()).data).toBe('first');
      proxy.stall();
      for (let n = 0; n < 500; n++) await b.hub.broadcast({ event: 'n', data: String(n) }, { channels: 'x' });
      proxy.resume();
      await b.hub.broadcast({ event: 'n', data: 'last' }, { channels: 'x' });
      const got = await until(onA.stream, 'last');
      const resyncs = onA.stream.received.filter(
        (message) => message.type === 'event' && message.event === 'resync',
      );
      expect(resyncs).toHaveLength(1);
      // What A did get is in order, and the resync says where the client stands.
      const numbers = got.filter((data) => /^\d+$/.test(data)).map(Number);
      expect(numbers).toEqual([...numbers].sort((x, y) => x - y));
      expect(numbers.length).toBeLessThan(500);
      // Nest's Logger is process-wide: the last app made in this process has every line.
      const missedLogs = [...a.logger.errors(), ...b.logger.errors()].filter((line) =>
        /This instance missed \d+ entries/.test(line),
      );
      expect(missedLogs).toHaveLength(1);
      onA.stream.close();
    } finally {
      await proxy.close();
    }
  });

  it('after a TCP proxy cuts every connection (both sides reset) while broadcasts run, every client has every event exactly once, in order', async () => {
    // CLIENT KILL (Redis closing the connections) is the conformance suite's: here the network fails.
    const key = stream();
    const proxy = await CuttableProxy.start(redis.port);
    try {
      const [a, b] = await Promise.all([
        start(new RedisStreamsTransport({ url: proxy.url, stream: key })),
        start(new RedisStreamsTransport({ url: proxy.url, stream: key })),
      ]);
      const clients = [await join(a, 'x'), await join(b, 'x'), await join(b, 'x')];
      const sent: string[] = [];
      const failed: string[] = [];
      const cutsAt = new Set([50, 100]);
      // Until 150 broadcasts were taken, cutting at 50 and 100; bounded in attempts.
      for (let n = 0; sent.length < 150 && n < 5000; n++) {
        if (cutsAt.delete(sent.length)) expect(proxy.cut()).toBeGreaterThan(0);
        const value = String(n);
        const taken = await broadcastTaken((n % 2 ? a : b).hub, { event: 'n', data: value }, 'x');
        (taken ? sent : failed).push(value);
        // Refused: Redis is reconnecting (50 ms, then longer); give it a moment rather than spin.
        if (!taken) await new Promise((resolve) => setTimeout(resolve, 10));
        else if (n % 10 === 0) await nextTurn();
      }
      await broadcastSurely(a.hub, { event: 'n', data: 'end' }, 'x');
      expect(sent).toHaveLength(150);
      expect(cutsAt.size).toBe(0);
      for (const client of clients) {
        const got = await until(client.stream, 'end');
        // Exactly once and in order; every broadcast that resolved is there.
        expect(new Set(got).size).toBe(got.length);
        expect(got.map(Number)).toEqual([...got.map(Number)].sort((x, y) => x - y));
        expect(got.filter((value) => !failed.includes(value))).toEqual(sent);
        client.stream.close();
      }
      console.log(
        `cut: ${sent.length} broadcasts taken, ${failed.length} refused while Redis was away; all delivered once`,
      );
    } finally {
      await proxy.close();
    }
  });

  it('after Redis restarts empty, live events flow again, after a resync (what was lost is unknown), and a reconnecting client gets resync, not silence', async () => {
    const key = stream();
    const a = await start(new RedisStreamsTransport({ url: redis.url, stream: key }));
    const live = await join(a, 'x');
    await a.hub.broadcast({ event: 'n', data: 'before' }, { channels: 'x' });
    const before = await live.stream.nextEvent();
    await redis.restart();
    await broadcastSurely(a.hub, { event: 'n', data: 'after' }, 'x');
    expect((await live.stream.nextEvent()).event).toBe('resync');
    expect((await live.stream.nextEvent()).data).toBe('after');
    a.logger.lines.length = 0;
    const back = await openSseStream(a.url, '/r/x/events', { headers: { 'last-event-id': before.id! } });
    expect((await back.nextEvent()).event).toBe('resync');
    back.close();
    live.stream.close();
  });

  it('starts without Redis, says why, refuses broadcasts meanwhile, and works once Redis is there', async () => {
    const later = await RedisServer.start(redisServer);
    await later.stop();
    try {
      const transport = new RedisStreamsTransport({ url: later.url, stream: stream() });
      const a = await start(transport, { waitForRedis: false }).catch((error) => {
        throw new Error(`the app must start without Redis: ${error}`);
      });
      const client = await join(a, 'x');
      await expect(a.hub.broadcast({ event: 'n', data: 'lost' }, { channels: 'x' })).rejects.toThrow(
        SseTransportUnavailableError,
      );
      await expect(a.hub.broadcast('x')).rejects.toThrow(
        /Redis at redis:\/\/127\.0\.0\.1:\d+ is not reachable .*Retry once Redis is back/,
      );
      expect(a.logger.errors().join('\n')).toMatch(
        /Redis (publisher|reader) connection to redis:\/\/127\.0\.0\.1:\d+ failed .*retrying/,
      );
      // Through HTTP: 503 with Retry-After, as for any refusal to retry later; the body names no server.
      const answer = await fetch(`${a.url}/post`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'lost' }),
      });
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('5');
      const body = await answer.text();
      expect(JSON.parse(body)).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'Events cannot be published right now: retry later.',
      });
      expect(body).not.toContain('127.0.0.1');
      await later.restart();
      await transport.ready();
      await broadcastSurely(a.hub, { event: 'n', data: 'found' }, 'x');
      // What was refused was not sent later either.
      expect((await client.stream.nextEvent()).data).toBe('found');
      client.stream.close();
    } finally {
      await later.stop();
    }
  }, 60_000);
});
