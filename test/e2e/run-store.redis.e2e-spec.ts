import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { type SseRunStore } from 'nestjs-sse-hub';
import { RedisStreamsTransport, SseTransportUnavailableError } from 'nestjs-sse-hub/redis';
import { findRedisServer, RedisServer } from './support/redis-server';
import { describeRunStoreContract } from './support/run-store-contract';

const redisServer = findRedisServer();
const CAN_RUN = redisServer !== undefined;
if (!CAN_RUN) {
  if (process.env.CI)
    throw new Error(
      'redis-server is missing and CI needs it: run `npm test` as root so test/support/ensure-tools.sh can install it.',
    );
  console.warn(
    '\n⚠ redis-server is not installed: the Redis run store tests are skipped (npm test installs it).\n',
  );
}

/** The lease of the contract's stores (their presenceTtl): short, yet 3 renewals apart on a busy machine. */
const LEASE_MS = 1000;
/** The lease of every other store: one no test outlasts (they claim and finish without renewing). */
const LONG_LEASE_MS = 60_000;
const LIMITS = { ttl: 60_000, maxEvents: 100, maxBytes: 100_000 };

let redis: RedisServer | undefined;
let dir: string | undefined;
const transports = new Map<SseRunStore, RedisStreamsTransport>();
let stream = '';

/** A transport on `stream` that reads (so its connection is up), and its run store. */
async function storeOn(server: RedisServer, name: string, presenceTtl = LONG_LEASE_MS): Promise<SseRunStore> {
  const transport = new RedisStreamsTransport({ url: server.url, stream: name, presenceTtl });
  transport.subscribe(() => undefined);
  await transport.ready();
  transports.set(transport.runStore, transport);
  return transport.runStore;
}

async function close(store: SseRunStore): Promise<void> {
  await transports.get(store)?.close();
  transports.delete(store);
}

const beside = async <T>(
  server: RedisServer,
  run: (client: { sendCommand(args: string[]): Promise<unknown> }) => Promise<T>,
) => {
  const client = await createClient({ url: server.url }).connect();
  try {
    return await run(client);
  } finally {
    await client.close();
  }
};

// With an append-only file (fsync always), so that a restart keeps the runs.
const startRedis = async () => {
  dir = mkdtempSync(join(tmpdir(), 'nestjs-sse-hub-runs-'));
  redis = await RedisServer.start(redisServer, [
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--dir',
    dir,
  ]);
};
const stopRedis = async () => {
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
};

describeRunStoreContract('RedisRunStore on one real Redis', {
  available: CAN_RUN,
  beforeAll: startRedis,
  afterAll: stopRedis,
  make: ({ lease }) => storeOn(redis!, (stream = `runs-${randomUUID()}`), lease ? LEASE_MS : LONG_LEASE_MS),
  makeSecond: ({ lease }) => storeOn(redis!, stream, lease ? LEASE_MS : LONG_LEASE_MS),
  leaseMs: LEASE_MS,
  close,
});

/** Calls `attempt` until Redis answers (it may be coming back), for at most 20 s. */
async function whenBack<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof SseTransportUnavailableError) || Date.now() > deadline) throw error;
      await sleep(20);
    }
  }
}

(CAN_RUN ? describe : describe.skip)('RedisRunStore on one real Redis, restarted', () => {
  beforeAll(startRedis, 60_000);
  afterAll(stopRedis);
  afterEach(async () => {
    for (const store of [...transports.keys()]) await close(store);
  });

  it('keeps a running run across a restart with its append-only file, and goes on with it', async () => {
    const store = await storeOn(redis!, 'runs', 15_000);
    await store.claim('answer:1', 'r1', LIMITS);
    await store.append('answer:1', 'r1', 1, ['data: a\n\n', 'data: b\n\n']);
    await redis!.restart();
    expect(await whenBack(() => store.get('answer:1'))).toEqual({
      run: 'r1',
      status: 'running',
      first: 1,
      last: 2,
    });
    expect(await store.append('answer:1', 'r1', 3, ['data: c\n\n'])).toBe(true);
    expect(await store.read('answer:1', 1, 10)).toEqual({
      record: { run: 'r1', status: 'running', first: 1, last: 3 },
      from: 2,
      events: ['data: b\n\n', 'data: c\n\n'],
    });
    expect((await store.claim('answer:1', 'r2', LIMITS)).created).toBe(false);
  });

  it('refuses every call while Redis is away (unavailable), and finds no run after it restarted empty', async () => {
    const empty = await RedisServer.start(redisServer);
    try {
      const store = await storeOn(empty, 'runs', 15_000);
      await store.claim('answer:1', 'r1', LIMITS);
      await store.append('answer:1', 'r1', 1, ['data: a\n\n']);
      await empty.stop();
      for (const call of [
        () => store.claim('answer:2', 'r2', LIMITS),
        () => store.get('answer:1'),
        () => store.append('answer:1', 'r1', 2, ['x']),
        () => store.read('answer:1', 0, 10),
        () => store.finish('answer:1', 'r1', 'completed'),
        () => store.renew([{ key: 'answer:1', run: 'r1' }]),
        () => store.release('answer:1', 'r1'),
      ])
        await expect(call()).rejects.toBeInstanceOf(SseTransportUnavailableError);
      await empty.restart();
      expect(await whenBack(() => store.get('answer:1'))).toBeUndefined();
      expect(await store.append('answer:1', 'r1', 2, ['data: b\n\n'])).toBe(false);
      expect((await store.claim('answer:1', 'r2', LIMITS)).created).toBe(true);
    } finally {
      await empty.stop();
    }
  });

  it('needs nothing loaded in Redis: a SCRIPT FLUSH between calls costs nothing', async () => {
    const store = await storeOn(redis!, `runs-${randomUUID()}`);
    await store.claim('k', 'r1', LIMITS);
    await beside(redis!, (client) => client.sendCommand(['SCRIPT', 'FLUSH']));
    expect(await store.append('k', 'r1', 1, ['a'])).toBe(true);
    expect((await store.read('k', 0, 10))?.events).toEqual(['a']);
  });

  it('keeps a run in two keys beside the stream, expiring lease + ttl on while running, ttl once ended', async () => {
    const name = `runs-${randomUUID()}`;
    // A lease long enough that the first check cannot see it half gone.
    const store = await storeOn(redis!, name, 15_000);
    await store.claim('k', 'r1', LIMITS);
    await store.append('k', 'r1', 1, ['a']);
    const keys = (await beside(redis!, (client) =>
      client.sendCommand(['KEYS', `{${name}}:run*`]),
    )) as string[];
    expect(keys.sort()).toEqual([`{${name}}:run-events:k`, `{${name}}:run:k`]);
    const ttls = () =>
      beside(redis!, async (client) =>
        Promise.all(keys.map(async (key) => Number(await client.sendCommand(['PTTL', key])))),
      );
    for (const ttl of await ttls()) expect(ttl).toBeGreaterThan(LIMITS.ttl);
    await store.finish('k', 'r1', 'completed');
    for (const ttl of await ttls()) {
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(LIMITS.ttl);
    }
  });

  it('refuses bad values with a clear error, before asking Redis', async () => {
    const store = await storeOn(redis!, `runs-${randomUUID()}`);
    await expect(store.claim('k', 'r1', { ...LIMITS, ttl: 0 })).rejects.toThrow(
      /ttl must be a positive integer/,
    );
    await expect(store.claim('k', 'r1', { ...LIMITS, maxEvents: 1.5 })).rejects.toThrow(/maxEvents/);
    await expect(store.claim('k', '', LIMITS)).rejects.toThrow(/run must be a non-empty string/);
    await expect(store.append('k', 'r1', 0, ['a'])).rejects.toThrow(/from must be an event number/);
    await expect(store.append('k', 'r1', 1, [1 as unknown as string])).rejects.toThrow(/array of strings/);
    await expect(store.read('k', -1, 10)).rejects.toThrow(/after/);
    await expect(store.read('k', 0, Number.NaN)).rejects.toThrow(/count/);
    await expect(store.finish('k', 'r1', 'running' as 'completed')).rejects.toThrow(
      /completed, failed or aborted/,
    );
    expect(await store.get('k')).toBeUndefined();
  });
});
