import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type PoolClient } from 'pg';
import { type SseRunStore } from 'nestjs-sse-hub';
import { PostgresTransport, SseTransportUnavailableError } from 'nestjs-sse-hub/postgres';
import { LISTENER_NAME, PUBLISHER_NAME } from '../../src/postgres/postgres.transport';
import { spawnInstance } from './support/instance-process';
import { findPostgres, PostgresServer } from './support/postgres-server';
import { describeRunStoreContract } from './support/run-store-contract';
import { describeTransportConformance } from './support/transport-conformance';

const binDir = findPostgres();
const CAN_RUN = binDir !== undefined;
if (!CAN_RUN) {
  if (process.env.CI)
    throw new Error(
      'PostgreSQL is missing and CI needs it: run `npm test` as root so test/support/ensure-tools.sh can install it.',
    );
  console.warn(
    '\n⚠ PostgreSQL is not installed: the PostgreSQL transport conformance and run store tests are skipped (npm test installs it).\n',
  );
}

let pg: PostgresServer | undefined;

// One throwaway cluster for the whole file (initdb and a start are most of a short file's
// time), a table per test: the transport's conformance, then its run store's contract and
// what is PostgreSQL's own in it. A restart is a fast shutdown and a start on the same data:
// what was committed survives.
if (CAN_RUN) {
  beforeAll(async () => {
    pg = await PostgresServer.start(binDir);
  }, 120_000);
  afterAll(async () => pg?.stop(), 60_000);
}

describeTransportConformance('PostgresTransport on a real PostgreSQL', {
  available: CAN_RUN,
  make: (topic, options) =>
    new PostgresTransport({ connectionString: pg!.url, table: `sse_${topic}`, maxLen: options?.maxLen }),
  ready: (transport) => (transport as PostgresTransport).ready(),
  instances: true,
  presence: true,
  spawn: (topic, ttl) =>
    spawnInstance({ DATABASE_URL: pg!.url, TABLE: `sse_${topic}`, PRESENCE_TTL: String(ttl) }),
  restart: () => pg!.restart(),
  restartKeepsHistory: true,
  // First only the listeners (the readers), while publishing goes on; then every backend of the transports.
  killConnections: async (round) => {
    const killed = await pg!.terminateBackends(
      round === 0
        ? LISTENER_NAME
        : (backend) => [LISTENER_NAME, PUBLISHER_NAME].includes(backend.applicationName),
    );
    if (killed === 0) throw new Error(`no backend of the transport to kill (round ${round})`);
  },
  unavailable: (error) => error instanceof SseTransportUnavailableError,
});

// The PostgreSQL run store (PostgresTransport's runStore) through the contract every run
// store passes, a table per test and a short lease; then what is PostgreSQL's own: a
// restart keeps a running run, a server away is SseTransportUnavailableError, and the app's
// open transaction never holds a run up.

// The lease: short, for the contract's lease tests; yet not so short that a loaded machine lets it run
// out between a renew and the next.
const LEASE_MS = 1000;
/** The lease of the stores of every other test, which never renew: one that does not run out. */
const LONG_LEASE_MS = 60_000;
const LIMITS = { ttl: 60_000, maxEvents: 1000, maxBytes: 1_000_000 };

const transports = new Map<SseRunStore, PostgresTransport>();
let table = '';

function transportOn(name: string, options: { presenceTtl?: number; pool?: Pool } = {}): PostgresTransport {
  return new PostgresTransport({
    ...(options.pool ? { pool: options.pool } : { connectionString: pg!.url }),
    table: name,
    presenceTtl: options.presenceTtl ?? LONG_LEASE_MS,
  });
}

function storeOn(name: string, { lease }: { lease: boolean }): SseRunStore {
  // Only the contract's lease tests get the short lease (see RunStoreHarness.make).
  const transport = transportOn(name, { presenceTtl: lease ? LEASE_MS : LONG_LEASE_MS });
  transports.set(transport.runStore, transport);
  return transport.runStore;
}

describeRunStoreContract('PostgresTransport.runStore on a real PostgreSQL', {
  available: CAN_RUN,
  make: (options) => storeOn((table = `sse_runs_${randomUUID().slice(0, 8)}`), options),
  makeSecond: (options) => storeOn(table, options),
  leaseMs: LEASE_MS,
  close: async (store) => {
    await transports.get(store)?.close();
    transports.delete(store);
  },
});

(CAN_RUN ? describe : describe.skip)('PostgreSQL run store', () => {
  const open: PostgresTransport[] = [];
  const pools: Pool[] = [];
  /** The app's pool, two connections: one for the app's transaction, the other for the runs. */
  const appPool = (url = pg!.url) => {
    const pool = new Pool({ connectionString: url, max: 2 });
    // As an app's: a connection that the server's shutdown ends is no crash.
    pool.on('error', () => undefined);
    pools.push(pool);
    return pool;
  };
  const make = (options: { pool?: Pool } = {}, name = `sse_runs_${randomUUID().slice(0, 8)}`) => {
    const transport = transportOn(name, options);
    open.push(transport);
    return transport;
  };

  afterEach(async () => {
    for (const transport of open.splice(0)) await transport.close();
    for (const pool of pools.splice(0)) await pool.end();
  });
  it('keeps a running run across a restart of PostgreSQL; while it is away, SseTransportUnavailableError', async () => {
    // A lease longer than the restart: the run's instance is alive all along.
    const store = make().runStore;
    expect((await store.claim('k', 'r1', LIMITS)).created).toBe(true);
    expect(await store.append('k', 'r1', 1, ['a', 'b'])).toBe(true);
    await pg!.pause();
    await expect(store.get('k')).rejects.toBeInstanceOf(SseTransportUnavailableError);
    await expect(store.append('k', 'r1', 3, ['c'])).rejects.toBeInstanceOf(SseTransportUnavailableError);
    await pg!.restart();
    // The pool's connections died with the server: the first use may still find one that did.
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        expect(await store.get('k')).toEqual({ run: 'r1', status: 'running', first: 1, last: 2 });
        break;
      } catch (error) {
        if (!(error instanceof SseTransportUnavailableError) || Date.now() > deadline) throw error;
      }
    }
    // The producer's retry goes on where it was.
    expect(await store.append('k', 'r1', 3, ['c'])).toBe(true);
    expect(await store.read('k', 0, 10)).toEqual({
      record: { run: 'r1', status: 'running', first: 1, last: 3 },
      from: 1,
      events: ['a', 'b', 'c'],
    });
    expect(await store.claim('k', 'r2', LIMITS)).toEqual({
      created: false,
      record: { run: 'r1', status: 'running', first: 1, last: 3 },
    });
  }, 60_000);

  it('deletes gone runs and their events in the claims that create, ten at most each', async () => {
    const name = `sse_runs_${randomUUID().slice(0, 8)}`;
    const store = make({}, name).runStore;
    const count = async () =>
      (
        await pg!.query<{ runs: string; events: string }>(
          `SELECT (SELECT count(*) FROM "${name}_runs") AS runs, (SELECT count(*) FROM "${name}_run_events") AS events`,
        )
      )[0];
    // Every claim first: a claim that creates would sweep those finished before it.
    const done = Array.from({ length: 12 }, (_, i) => `done:${i}`);
    for (const key of [...done, 'kept']) {
      await store.claim(key, 'r', { ...LIMITS, ttl: key === 'kept' ? LIMITS.ttl : 1 });
      await store.append(key, 'r', 1, key === 'kept' ? ['a'] : ['a', 'b']);
    }
    for (const key of done) await store.finish(key, 'r', 'completed');
    // Gone (their ttl is 1 ms), but still there until a claim creates.
    while ((await store.get('done:11')) !== undefined) await sleep(5);
    expect(await count()).toEqual({ runs: '13', events: '25' });
    await store.claim('new:1', 'r', LIMITS);
    expect(await count()).toEqual({ runs: '4', events: '5' });
    // Joining a run sweeps nothing; the next run created sweeps the rest.
    expect((await store.claim('kept', 'r2', LIMITS)).created).toBe(false);
    expect(await count()).toEqual({ runs: '4', events: '5' });
    await store.claim('new:2', 'r', LIMITS);
    expect(await count()).toEqual({ runs: '3', events: '1' });
    expect((await store.read('kept', 0, 10))?.events).toEqual(['a']);
  });

  it('creates one new run, without the old events, when two instances claim a gone key at once', async () => {
    const name = `sse_runs_${randomUUID().slice(0, 8)}`;
    const [a, b] = [make({}, name).runStore, make({}, name).runStore];
    const keys = Array.from({ length: 10 }, (_, i) => `again:${i}`);
    for (const key of keys) {
      await a.claim(key, 'old', { ...LIMITS, ttl: 1 });
      await a.append(key, 'old', 1, ['old event']);
      await a.finish(key, 'old', 'completed');
    }
    const claims = await Promise.all(
      keys.map((key) => Promise.all([a.claim(key, 'a', LIMITS), b.claim(key, 'b', LIMITS)])),
    );
    for (const [i, [fromA, fromB]] of claims.entries()) {
      expect([fromA.created, fromB.created].filter(Boolean)).toHaveLength(1);
      expect(fromB.record).toEqual(fromA.record);
      expect(await b.read(keys[i], 0, 10)).toEqual({ record: fromA.record, from: 1, events: [] });
    }
  });

  it('keeps exactly the events that text cannot hold as they are (NUL, lone surrogates)', async () => {
    const store = make().runStore;
    const events = [
      'data: a\0b\n\n',
      'data: \ud800 \udfff x\udc00\ud83d\n\n',
      '\0',
      'data: "\\0"\n\n',
      'data: 😀\n\n',
    ];
    await store.claim('k', 'r', LIMITS);
    expect(await store.append('k', 'r', 1, events)).toBe(true);
    expect((await store.read('k', 0, 10))?.events).toEqual(events);
    // Their bytes are counted as sent (UTF-8: 1 + 3 + 3), not as kept (escaped, 10 and 8).
    await store.claim('small', 'r', { ...LIMITS, maxBytes: 7 });
    await store.append('small', 'r', 1, ['x', 'a\0b', '\ud800']);
    expect((await store.get('small'))?.first).toBe(1);
    await store.append('small', 'r', 4, ['y']);
    expect(await store.read('small', 0, 10)).toEqual({
      record: { run: 'r', status: 'running', first: 2, last: 4 },
      from: 2,
      events: ['a\0b', '\ud800', 'y'],
    });
  });

  it('refuses bad values with a TypeError, before PostgreSQL, and takes Infinity as no bound', async () => {
    const store = make().runStore;
    await expect(store.claim('a\0b', 'r', LIMITS)).rejects.toThrow(/key must be a string without NUL/);
    await expect(store.claim('k', 'r', { ...LIMITS, maxEvents: 0 })).rejects.toThrow(TypeError);
    await expect(store.append('k', 'r', 0, ['a'])).rejects.toThrow(/from must be an integer of at least 1/);
    await expect(store.append('k', 'r', 1, [1 as never])).rejects.toThrow(
      /events must be an array of strings/,
    );
    await expect(store.read('k', -1, 10)).rejects.toThrow(TypeError);
    await expect(store.finish('k', 'r', 'running' as never)).rejects.toThrow(/status must be/);
    await expect(store.renew([{ key: 'k', run: 7 as never }])).rejects.toThrow(TypeError);
    // Infinity is no bound.
    const unbounded = { ttl: Infinity, maxEvents: Infinity, maxBytes: Infinity };
    expect((await store.claim('k', 'r', unbounded)).created).toBe(true);
    expect(await store.append('k', 'r', 1, ['a'.repeat(100_000), 'b'])).toBe(true);
    expect(await store.finish('k', 'r', 'completed')).toEqual({
      run: 'r',
      status: 'completed',
      first: 1,
      last: 2,
    });
  });

  it('goes on publishing where the app may not create the run tables; runs get the refusal till they are', async () => {
    const schema = `earlier_${randomUUID().slice(0, 8)}`;
    const role = `app_${randomUUID().slice(0, 8)}`;
    const on = (url: string) => {
      const transport = new PostgresTransport({
        connectionString: url,
        schema,
        table: 'hub',
        presenceTtl: 60_000,
      });
      open.push(transport);
      return transport;
    };
    const grant =
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "${schema}" TO "${role}"; ` +
      `GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA "${schema}" TO "${role}"`;
    // An install of an earlier version, made by its owner; the app's role may use it, not change it.
    await on(pg!.url).runStore.get('k');
    await pg!.query(
      `DROP TABLE "${schema}".hub_runs, "${schema}".hub_run_events; ` +
        `DROP FUNCTION "${schema}".hub_run_claim, "${schema}".hub_run_append; ` +
        `CREATE ROLE "${role}" LOGIN; GRANT USAGE ON SCHEMA "${schema}" TO "${role}"; ${grant}`,
    );
    const appUrl = pg!.url.replace('//postgres@', `//${role}@`);
    const app = on(appUrl);
    const rolePool = appPool(appUrl);
    await app.publishIn(rolePool, { order: 1 });
    await expect(app.runStore.claim('k', 'r', LIMITS)).rejects.toThrow(/permission denied/);
    expect(await pg!.query(`SELECT count(*)::int AS n FROM "${schema}".hub`)).toEqual([{ n: 1 }]);
    // Its owner's next instance creates them.
    await on(pg!.url).runStore.get('k');
    await pg!.query(grant);
    expect((await app.runStore.claim('k', 'r', LIMITS)).created).toBe(true);
    expect(await app.runStore.append('k', 'r', 1, ['a'])).toBe(true);
  });

  /** The app's transaction on its own client: its own table locked, a publishIn holding its key. */
  async function appTransaction(pool: Pool, transport: PostgresTransport): Promise<PoolClient> {
    const tx = await pool.connect();
    await tx.query('CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY)');
    await tx.query('BEGIN');
    await tx.query('INSERT INTO orders VALUES (1) ON CONFLICT DO NOTHING');
    await tx.query('LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
    await transport.publishIn(tx, { order: 1 }, { idempotencyKey: `order-${randomUUID()}` });
    return tx;
  }

  /** Every run operation, while the app's transaction is open. */
  async function everyOperation(store: SseRunStore): Promise<void> {
    expect((await store.claim('k', 'r1', LIMITS)).created).toBe(true);
    expect(await store.append('k', 'r1', 1, ['a'])).toBe(true);
    await store.renew([{ key: 'k', run: 'r1' }]);
    expect((await store.read('k', 0, 10))?.events).toEqual(['a']);
    expect(await store.finish('k', 'r1', 'completed')).toEqual({
      run: 'r1',
      status: 'completed',
      first: 1,
      last: 1,
    });
    expect((await store.claim('k2', 'r2', LIMITS)).created).toBe(true);
    await store.release('k2', 'r2');
    expect(await store.get('k2')).toBeUndefined();
  }

  it("never waits on the app's open transaction, on the app's own pool", async () => {
    const pool = appPool();
    const transport = make({ pool });
    const tx = await appTransaction(pool, transport);
    try {
      await everyOperation(transport.runStore);
    } finally {
      await tx.query('COMMIT');
      tx.release();
    }
  });

  it("creates the run tables of an earlier install without waiting on the app's open transaction", async () => {
    const name = `sse_runs_${randomUUID().slice(0, 8)}`;
    const earlier = make({}, name);
    // Its first use creates every table.
    await earlier.runStore.get('k');
    // What an earlier version made: no run tables.
    await pg!.query(
      `DROP TABLE "${name}_runs", "${name}_run_events"; ` +
        `DROP FUNCTION "${name}_run_claim", "${name}_run_append"`,
    );
    const pool = appPool();
    const tx = await appTransaction(pool, earlier);
    try {
      await everyOperation(make({}, name).runStore);
    } finally {
      await tx.query('COMMIT');
      tx.release();
    }
  });
});
