import { randomUUID } from 'node:crypto';
import { createClient, createCluster } from 'redis';
import { type SseRunStore } from 'nestjs-sse-hub';
import {
  type RedisClusterClient,
  RedisStreamsTransport,
  SseTransportUnavailableError,
} from 'nestjs-sse-hub/redis';
import { READER_NAME } from '../../src/redis/redis-streams.transport';
import { RedisCluster } from './support/redis-cluster';
import { spawnInstance } from './support/instance-process';
import { findRedisServer } from './support/redis-server';
import { describeRunStoreContract } from './support/run-store-contract';
import { describeTransportConformance } from './support/transport-conformance';

const redisServer = findRedisServer();
const CAN_RUN = redisServer !== undefined;
if (!CAN_RUN) {
  if (process.env.CI)
    throw new Error(
      'redis-server is missing and CI needs it: run `npm test` as root so test/support/ensure-tools.sh can install it.',
    );
  console.warn(
    '\n⚠ redis-server is not installed: the Redis Cluster conformance tests are skipped (npm test installs it).\n',
  );
}

let cluster: RedisCluster | undefined;

interface AdminClient {
  sendCommand(args: string[]): Promise<unknown>;
}
const clusterClients: RedisClusterClient[] = [];

/** Runs `command` on every master, on an admin connection of its own. */
async function onEveryMaster(command: (client: AdminClient) => Promise<unknown>): Promise<void> {
  for (const node of cluster!.nodes) {
    const client = await createClient({ url: node.url }).connect();
    try {
      await command(client);
    } finally {
      await client.close();
    }
  }
}

// One cluster for the whole file (starting one is most of its time): the transport's
// conformance, then its run store's contract.
if (CAN_RUN) {
  beforeAll(async () => {
    cluster = await RedisCluster.start(redisServer!);
  }, 120_000);
  afterAll(async () => cluster?.stop(), 60_000);
}

// On a real 3-master cluster, each app with a cluster client of its own, as a user passes
// it (without an offline queue, as the README says); no persistence: the masters restart empty.
describeTransportConformance('RedisStreamsTransport on a real 3-master Redis Cluster (createCluster)', {
  available: CAN_RUN,
  make: (topic, options) => {
    const client = createCluster({ rootNodes: cluster!.rootNodes, defaults: { disableOfflineQueue: true } });
    clusterClients.push(client);
    return new RedisStreamsTransport({ client, stream: topic, maxLen: options?.maxLen });
  },
  ready: (transport) => (transport as RedisStreamsTransport).ready(),
  afterEach: async () => {
    const clients = clusterClients.splice(0);
    // The app's own client: the transport connected it, and leaves it open for the app to close.
    const closed = clients.filter((client) => !client.isOpen).length;
    for (const client of clients) if (client.isOpen) client.destroy();
    if (closed > 0)
      throw new Error(`${closed} cluster client(s) of the app were closed by the transport on shutdown`);
  },
  instances: true,
  presence: true,
  spawn: (topic, ttl) =>
    spawnInstance({
      REDIS_CLUSTER: JSON.stringify(cluster!.rootNodes),
      STREAM: topic,
      PRESENCE_TTL: String(ttl),
    }),
  restart: () => cluster!.restart(),
  restartKeepsHistory: false,
  // First the blocking readers on every master (by connection name), then every connection.
  killConnections: async (round) => {
    let readers = 0;
    await onEveryMaster(async (client) => {
      if (round > 0) return client.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal']);
      const list = String(await client.sendCommand(['CLIENT', 'LIST']));
      for (const line of list.split('\n').filter((entry) => entry.includes(`name=${READER_NAME} `))) {
        readers++;
        await client.sendCommand(['CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(line)![1]]);
      }
    });
    if (round === 0 && readers === 0) throw new Error(`no reader connection (${READER_NAME}) on any master`);
  },
  forgetScripts: () => onEveryMaster((client) => client.sendCommand(['SCRIPT', 'FLUSH'])),
  // While the masters restart, Redis answers CLUSTERDOWN: the transport says unavailable.
  unavailable: (error) => error instanceof SseTransportUnavailableError,
});

const LEASE_MS = 1000;

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
