import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { describeFaultMatrix } from './support/fault-matrix';
import { findRedisServer, RedisServer } from './support/redis-server';

const binary = findRedisServer();
if (!binary && process.env.CI)
  throw new Error(
    'redis-server is missing and CI needs it: run `npm test` as root so test/support/ensure-tools.sh can install it.',
  );

let redis: RedisServer;
let dir: string;

/** One command on an admin connection of its own, straight to Redis (not through a proxy). */
async function admin(command: string[]): Promise<unknown> {
  const client = await createClient({ url: redis.url }).connect();
  try {
    return await client.sendCommand(command);
  } finally {
    client.destroy();
  }
}

// Two instances in the test's process (A, B) and one in a process of its own (C), every
// connection of each (publisher, reader, presence, replay) through a proxy of its own.
// Redis keeps an append-only file, fsynced before it answers, so a restart (SIGKILL) keeps
// every acknowledged write, or (its file removed first) comes back empty.
// CI runs these seeds: each once caught a reconnecting client sent old broadcasts again (`npm run test:faults` draws fresh ones).
describeFaultMatrix(
  {
    name: 'redis',
    title: 'RedisStreamsTransport on one Redis',
    available: binary !== undefined,
    inProcess: 2,
    processInstance: true,
    publishers: ['A', 'C'],
    shape: {
      faults: { cut: 3, refuse: 2, stall: 2, slow: 2, sigstop: 1, restart: 2, 'script-flush': 3 },
      presenceTtl: 1_500,
      maxLen: { normal: 10_000, small: 150 },
    },
    servers: () => [redis.port],
    transport: (topic, { maxLen, presenceTtl, via }) => ({
      kind: 'redis',
      url: `redis://127.0.0.1:${via(redis.port)}`,
      stream: topic,
      maxLen,
      presenceTtl,
    }),
    refusals: ['SseTransportUnavailableError'],
    inject: async (fault) => {
      if (fault.kind === 'script-flush') return void (await admin(['SCRIPT', 'FLUSH']));
      if (fault.kind !== 'restart') throw new Error(`no fault ${fault.kind} on one Redis`);
      if (fault.keepData) return redis.restart();
      await redis.stop();
      rmSync(join(dir, 'appendonlydir'), { recursive: true, force: true });
      await redis.restart();
    },
    beforeAll: async () => {
      dir = mkdtempSync(join(tmpdir(), 'nestjs-sse-hub-faults-redis-'));
      redis = await RedisServer.start(binary, [
        '--appendonly',
        'yes',
        // Every write on disk before Redis answers it: with everysec, a write Redis put off while
        // an fsync ran (a loaded machine) was answered yet lost when the restart killed it,
        // and no client can be told (seed 603030129 lost a broadcast accepted 3 ms earlier).
        '--appendfsync',
        'always',
        '--dir',
        dir,
      ]);
    },
    afterAll: async () => {
      await redis?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  },
  [1002615786, 603030129],
);
