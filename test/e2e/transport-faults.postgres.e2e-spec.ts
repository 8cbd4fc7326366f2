import { Client } from 'pg';
import { PostgresTransport } from 'nestjs-sse-hub/postgres';
import { LISTENER_NAME, PUBLISHER_NAME } from '../../src/postgres/postgres.transport';
import { type BroadcastRecord } from './support/fault-checker';
import { describeFaultMatrix, type MatrixRun } from './support/fault-matrix';
import { broadcastAddress, broadcastChannels, sleep } from './support/fault-workload';
import { findPostgres, PostgresServer } from './support/postgres-server';

const binDir = findPostgres();
if (!binDir && process.env.CI)
  throw new Error(
    'PostgreSQL is missing and CI needs it: run `npm test` as root so test/support/ensure-tools.sh can install it.',
  );

let pg: PostgresServer;
const urlVia = (port: number) => `postgres://postgres@127.0.0.1:${port}/postgres`;

/**
 * An app's connection publishing in its own transactions (publishIn, on instance A's
 * transport), through A's proxy, until the workload is over: one or two events a
 * transaction, some to users (broadcastAddress), some with an idempotency key (a key whose
 * transaction rolled back or failed is published again in the next), committing after a
 * random while (so the two connections commit out of order), one in five rolled back.
 */
async function appTransactions(source: string, run: MatrixRun): Promise<void> {
  const random = run.random.fork(source);
  const addressing = run.random.fork(`users:${source}`);
  const transport = run.inProcess('A').transport as PostgresTransport;
  const { recorder } = run;
  let client: Client | undefined;
  /** The key (and its event's channels) of a transaction that did not commit: the next one publishes it again. */
  let again: { key: string; channels: string[] } | undefined;
  for (let n = 0; !run.over; n++) {
    await sleep(random.int(10, 80));
    if (!client) {
      const fresh = new Client({
        connectionString: urlVia(run.via('A', pg.port)),
        application_name: 'fault-matrix-app',
      });
      fresh.on('error', () => undefined);
      client = await fresh.connect().then(
        () => fresh,
        () => void fresh.end().catch(() => undefined),
      );
      if (!client) continue;
    }
    const records: BroadcastRecord[] = [];
    const keys: Array<{ key: string; channels: string[] }> = [];
    let committing = false;
    try {
      await client.query('BEGIN');
      for (let i = random.int(1, 2); i > 0; i--) {
        const channels = (i === 1 && again?.channels) || broadcastChannels(random);
        const key =
          i === 1
            ? (again?.key ?? (random.chance(0.5) ? `${source}-${run.seed}-${n}` : undefined))
            : undefined;
        // One with a key keeps its channels: a retry, or another source's call of that key, sends the same.
        const address = key ? { channels } : broadcastAddress(addressing, channels);
        const record = recorder.add(source, { ...address, key });
        recorder.called(record.value, Date.now());
        records.push(record);
        if (key) {
          keys.push({ key, channels });
          run.openKeys.set(key, channels);
        }
        await transport.publishIn(
          client,
          { event: 'n', data: record.value },
          { ...address, idempotencyKey: key },
        );
      }
      if (random.chance(0.1)) {
        // A value that cannot be encoded is refused before it reaches the transaction, which goes on.
        const bad = recorder.add(source, { channels: ['x'], unencodable: true });
        recorder.called(bad.value, Date.now());
        await transport.publishIn(client, { event: 'n', data: { value: bad.value, big: 1n } }).then(
          () => recorder.settled({ value: bad.value, at: Date.now(), outcome: 'accepted' }),
          (error: Error) =>
            recorder.settled({
              value: bad.value,
              at: Date.now(),
              outcome: 'rejected',
              error: { name: error.name, message: error.message },
            }),
        );
      }
      await client.query('SELECT pg_sleep($1)', [random.int(0, 40) / 1000]);
      if (random.chance(0.2)) {
        await client.query('ROLLBACK');
        for (const record of records)
          recorder.settled({ value: record.value, at: Date.now(), outcome: 'rolled-back' });
        again = keys[0];
        continue;
      }
      // Its events take their positions at the commit: that is when they are called.
      for (const record of records) recorder.called(record.value, Date.now());
      committing = true;
      await client.query('COMMIT');
      for (const record of records)
        recorder.settled({ value: record.value, at: Date.now(), outcome: 'accepted' });
      again = undefined;
    } catch (error) {
      for (const record of records) {
        if (!committing) record.calledAt = Date.now();
        recorder.settled({
          value: record.value,
          at: Date.now(),
          outcome: 'rejected',
          error: { name: (error as Error).name, message: (error as Error).message },
        });
      }
      again = keys[0];
      void client.end().catch(() => undefined);
      client = undefined;
    } finally {
      for (const { key } of keys) run.openKeys.delete(key);
    }
  }
  await client?.end().catch(() => undefined);
}

// Two instances in the test's process (A, B) and one in a process of its own (C), every
// connection of each (the pool, the listener, the app's transactions) through a proxy of its
// own. A restart is a fast shutdown and a start on the same data. A run starts on a table
// the instances create, one that is there but empty, or one with old rows.
// CI runs these seeds: each once caught a reconnecting client sent old broadcasts again (`npm run test:faults` draws fresh ones).
describeFaultMatrix(
  {
    name: 'postgres',
    title: 'PostgresTransport on PostgreSQL',
    available: binDir !== undefined,
    inProcess: 2,
    processInstance: true,
    publishers: ['A', 'C'],
    shape: {
      faults: {
        cut: 3,
        refuse: 2,
        stall: 2,
        slow: 2,
        sigstop: 1,
        restart: 2,
        'terminate-listener': 3,
        'terminate-backends': 2,
      },
      presenceTtl: 1_500,
      restartKeepsData: true,
      maxLen: { normal: 10_000, small: 150 },
    },
    servers: () => [pg.port],
    transport: (topic, { maxLen, presenceTtl, via }) => ({
      kind: 'postgres',
      connectionString: urlVia(via(pg.port)),
      table: `sse_${topic}`,
      maxLen,
      presenceTtl,
    }),
    refusals: ['SseTransportUnavailableError'],
    // An idempotency key holds as long as its row is kept (maxLen).
    keysLiveWithHistory: true,
    // A fast shutdown keeps what was committed: runs lose nothing.
    losesRunWrites: [],
    inject: async (fault) => {
      switch (fault.kind) {
        case 'restart':
          return pg.restart();
        case 'terminate-listener':
          return void (await pg.terminateBackends(LISTENER_NAME));
        case 'terminate-backends':
          return void (await pg.terminateBackends((backend) =>
            [LISTENER_NAME, PUBLISHER_NAME].includes(backend.applicationName),
          ));
        default:
          throw new Error(`no fault ${fault.kind} on PostgreSQL`);
      }
    },
    prepare: async (topic, random) => {
      const roll = random.float();
      if (roll < 0.4) return 'the instances create the table';
      const transport = new PostgresTransport({ connectionString: pg.url, table: `sse_${topic}` });
      transport.subscribe(() => undefined);
      await transport.ready();
      const old = roll > 0.8 ? 30 : 0;
      const client = new Client({ connectionString: pg.url });
      await client.connect();
      for (let i = 0; i < old; i++)
        await transport.publishIn(client, { event: 'n', data: `old.${i}` }, { channels: 'x' });
      await client.end();
      await transport.close();
      return old ? `the table starts with ${old} rows` : 'the table starts empty';
    },
    sources: (run) => ['tx1', 'tx2'].map((source) => appTransactions(source, run)),
    beforeAll: async () => {
      pg = await PostgresServer.start(binDir);
    },
    afterAll: async () => pg?.stop(),
  },
  [121355124, 946448766],
);
