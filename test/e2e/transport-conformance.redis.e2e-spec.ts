import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { RedisStreamsTransport, SseTransportUnavailableError } from 'nestjs-sse-hub/redis';
import { READER_NAME } from '../../src/redis/redis-streams.transport';
import { spawnInstance } from './support/instance-process';
import { findRedisServer, RedisServer } from './support/redis-server';
import { describeTransportConformance } from './support/transport-conformance';

const redisServer = findRedisServer();
const CAN_RUN = redisServer !== undefined;
if (!CAN_RUN) {
  if (process.env.CI)
    throw new Error(
      'redis-server is missing and CI needs it: run `npm test` as root so test/support/ensure-tools.sh can install it.',
    );
  console.warn(
    '\n⚠ redis-server is not installed: the Redis transport conformance tests are skipped (npm test installs it).\n',
  );
}

let redis: RedisServer | undefined;

interface AdminClient {
  sendCommand(args: string[]): Promise<unknown>;
}
let dir: string | undefined;

/** One command on an admin connection of its own: Redis may have restarted since the last. */
async function admin<T>(run: (client: AdminClient) => Promise<T>): Promise<T> {
  const client = await createClient({ url: redis!.url }).connect();
  try {
    return await run(client);
  } finally {
    await client.close();
  }
}

// With an append-only file, so that a restart keeps the stream: what the transport does
// with a history that survives. Redis restarting empty is redis.e2e-spec.ts's.
describeTransportConformance(
  'RedisStreamsTransport on one real Redis (restarted with its append-only file)',
  {
    available: CAN_RUN,
    beforeAll: async () => {
      dir = mkdtempSync(join(tmpdir(), 'nestjs-sse-hub-redis-'));
      redis = await RedisServer.start(redisServer, [
        '--appendonly',
        'yes',
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
    make: (topic, options) =>
      new RedisStreamsTransport({ url: redis!.url, stream: topic, maxLen: options?.maxLen }),
    ready: (transport) => (transport as RedisStreamsTransport).ready(),
    instances: true,
    presence: true,
    spawn: (topic, ttl) => spawnInstance({ REDIS_URL: redis!.url, STREAM: topic, PRESENCE_TTL: String(ttl) }),
    restart: () => redis!.restart(),
    restartKeepsHistory: true,
    // First only the blocking readers (by connection name), while publishing goes on: they
    // must resume from their cursor. Then every connection but the admin's (CLIENT KILL skips it).
    killConnections: (round) =>
      admin(async (client) => {
        if (round > 0) return void (await client.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal']));
        const list = String(await client.sendCommand(['CLIENT', 'LIST']));
        const readers = list.split('\n').filter((line) => line.includes(`name=${READER_NAME} `));
        if (readers.length === 0)
          throw new Error(`no reader connection (${READER_NAME}) in CLIENT LIST:\n${list}`);
        for (const line of readers)
          await client.sendCommand(['CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(line)![1]]);
      }),
    forgetScripts: () => admin(async (client) => void (await client.sendCommand(['SCRIPT', 'FLUSH']))),
    unavailable: (error) => error instanceof SseTransportUnavailableError,
  },
);
