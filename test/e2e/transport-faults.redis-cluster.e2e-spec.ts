import { createClient } from 'redis';
import { describeFaultMatrix } from './support/fault-matrix';
import { RedisCluster } from './support/redis-cluster';
import { findRedisServer } from './support/redis-server';

const binary = findRedisServer();
if (!binary && process.env.CI)
  throw new Error(
    'redis-server is missing and CI needs it: run `npm test` as root so test/support/ensure-tools.sh can install it.',
  );

let cluster: RedisCluster;
let topic = '';
const startCluster = () => RedisCluster.start(binary!, 3, { replicas: 1, nodeTimeoutMs: 3_000 });

// 3 masters, each with a replica promoted when it fails (a node that does not answer for 3 s
// has failed). Every instance reaches every node through a proxy of its own (the cluster
// client maps the nodes' addresses to them). No persistence: a restart of the whole cluster
// comes back empty; a master killed comes back as an empty replica of the one promoted.
// CI runs these seeds: each once caught a reconnecting client sent old broadcasts again (`npm run test:faults` draws fresh ones).
describeFaultMatrix(
  {
    name: 'redis-cluster',
    title: 'RedisStreamsTransport on a Redis Cluster with replicas (3 + 3)',
    available: binary !== undefined,
    inProcess: 2,
    processInstance: true,
    publishers: ['A', 'C'],
    shape: {
      faults: {
        cut: 2,
        refuse: 1,
        stall: 2,
        slow: 1,
        sigstop: 1,
        restart: 1,
        'script-flush': 2,
        failover: 3,
        'kill-master': 3,
      },
      presenceTtl: 1_500,
      restartKeepsData: false,
      maxLen: { normal: 10_000, small: 150 },
    },
    servers: () => cluster.nodes.map((node) => node.port),
    transport: (stream, { maxLen, presenceTtl, via }) => {
      topic = stream;
      const nodeAddressMap = Object.fromEntries(
        cluster.nodes.map((node) => [`127.0.0.1:${node.port}`, { host: '127.0.0.1', port: via(node.port) }]),
      );
      return {
        kind: 'cluster',
        rootNodes: cluster.nodes.map((node) => ({ url: `redis://127.0.0.1:${via(node.port)}` })),
        nodeAddressMap,
        stream,
        maxLen,
        presenceTtl,
      };
    },
    refusals: ['SseTransportUnavailableError'],
    inject: async (fault) => {
      switch (fault.kind) {
        case 'failover':
          return cluster.failover(topic);
        case 'kill-master':
          return cluster.killMaster(topic);
        case 'restart':
          return cluster.restart();
        case 'script-flush':
          for (const node of cluster.nodes) {
            const client = await createClient({ url: node.url }).connect();
            await client.sendCommand(['SCRIPT', 'FLUSH']).finally(() => client.destroy());
          }
          return;
        default:
          throw new Error(`no fault ${fault.kind} on a Redis Cluster`);
      }
    },
    // A cluster that the last schedule's faults left broken (Redis may take long to heal, or not at all) is replaced.
    prepare: async (stream) => {
      if (await cluster.healthy(stream)) return undefined;
      await cluster.stop();
      cluster = await startCluster();
      return 'the last schedule left the cluster broken: this one runs on a new one';
    },
    beforeAll: async () => {
      cluster = await startCluster();
    },
    afterAll: async () => cluster?.stop(),
  },
  [777977200, 551342818],
);
