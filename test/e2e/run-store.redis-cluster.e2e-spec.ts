import { randomUUID } from 'node:crypto';
import { createCluster } from 'redis';
import { type SseRunStore } from 'nestjs-sse-hub';
import { type RedisClusterClient, RedisStreamsTransport } from 'nestjs-sse-hub/redis';
import { RedisCluster } from './support/redis-cluster';
import { findRedisServer } from './support/redis-server';
import { describeRunStoreContract } from './support/run-store-contract';

const redisServer = findRedisServer();
const CAN_RUN = redisServer !== undefined;
if (!CAN_RUN) {
  if (process.env.CI)
    throw new Error(
      'redis-server is missing and CI needs it: run `npm test` as root so test/support/ensure-tools.sh can install it.',
    );
  console.warn(
    '\n⚠ redis-server is not installed: the Redis Cluster run store tests are skipped (npm test installs it).\n',
  );
}

const LEASE_MS = 1000;

let cluster: RedisCluster | undefined;
const made = new Map<SseRunStore, { transport: RedisStreamsTransport; client: RedisClusterClient }>();
let stream = '';

/** A transport on `stream` with a cluster client of its own (as an app passes it), and its run store. */
async function storeOn(name: string, { lease }: { lease: boolean }): Promise<SseRunStore> {
  const client = createCluster({ rootNodes: cluster!.rootNodes, defaults: { disableOfflineQueue: true } });
  const transport = new RedisStreamsTransport({
    client,
    stream: name,
    // Only the lease tests get the short one (see RunStoreHarness.make).
    presenceTtl: lease ? LEASE_MS : 60_000,
  });
  transport.subscribe(() => undefined);
  await transport.ready();
  made.set(transport.runStore, { transport, client });
  return transport.runStore;
}

// On a real 3-master cluster: every key of every run in the stream's slot, which a script
// needs (it may only touch keys of one slot). The stream is named with a hash tag here,
// and without one on a single Redis (run-store.redis.e2e-spec.ts): both ways of keyBeside.
describeRunStoreContract('RedisRunStore on a real 3-master Redis Cluster (createCluster)', {
  available: CAN_RUN,
  beforeAll: async () => {
    cluster = await RedisCluster.start(redisServer!);
  },
  afterAll: async () => cluster?.stop(),
  make: (options) => storeOn((stream = `{runs-${randomUUID()}}:sse`), options),
  makeSecond: (options) => storeOn(stream, options),
  leaseMs: LEASE_MS,
  close: async (store) => {
    const { transport, client } = made.get(store)!;
    made.delete(store);
    await transport.close();
    // The app's own client: the transport leaves it open for the app to close.
    if (client.isOpen) client.destroy();
  },
});
