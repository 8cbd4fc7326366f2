import { Controller } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Client, Pool } from 'pg';
import { type SseClient, type SseGateway, SseEncodeError, SseHub, SseRoute } from 'nestjs-sse-hub';
import { PostgresTransport, SseTransportUnavailableError } from 'nestjs-sse-hub/postgres';
import { LISTENER_NAME } from '../../src/postgres/postgres.transport';
import { openSseStream, type SseTestStream } from 'nestjs-sse-hub/testing';
import { findPostgres, PostgresServer } from './support/postgres-server';
import { spawnInstance, within } from './support/instance-process';
import {
  expectLeaveThenJoinOfAPausedInstance,
  expectOneLeavePerChannelOfAKilledInstance,
  openMember,
} from './support/presence-events';
import { startApp, type TestApp } from './support/start-app';

// What is particular to PostgreSQL; what every transport does is in the conformance suite
// (transport-conformance.postgres.e2e-spec.ts).

@Controller('r')
class RoomsController implements SseGateway {
  @SseRoute(':room/events', { channels: (req) => [req.params.room], keepAlive: false })
  events() {}

  onJoin(client: SseClient) {
    return { event: 'hello', data: client.id };
  }
}

@Controller('p')
class PresenceController {
  // The same route as test/e2e/support/instance.child.js.
  @SseRoute(':room', {
    channels: (req) => `room:${req.params.room}`,
    user: (req) => req.query.user,
    presence: (client) => ({ user: client.request.query.user ?? null }),
    presenceEvents: true,
    keepAlive: false,
  })
  room() {}
}

interface Instance extends TestApp {
  hub: SseHub;
  transport: PostgresTransport;
}

const binDir = findPostgres();
const CAN_RUN = binDir !== undefined;
if (!CAN_RUN) {
  if (process.env.CI)
    throw new Error(
      'PostgreSQL is missing and CI needs it: run `npm test` as root so test/support/ensure-tools.sh can install it.',
    );
  console.warn(
    '\n⚠ PostgreSQL is not installed: the PostgreSQL transport tests are skipped (npm test installs it).\n',
  );
}

/** Events of a stream up to (not including) the one whose data is `marker`. */
async function until(stream: SseTestStream, marker: string): Promise<Array<{ id?: string; data: string }>> {
  const seen: Array<{ id?: string; data: string }> = [];
  for (;;) {
    const event = await stream.nextEvent();
    if (event.data === marker) return seen;
    if (event.event !== 'hello') seen.push({ id: event.id, data: event.data });
  }
}

const position = (id: string | undefined) => Number(/^(\d+)-0$/.exec(id ?? '')?.[1]);

(CAN_RUN ? describe : describe.skip)('PostgresTransport on a real PostgreSQL', () => {
  let pg: PostgresServer;
  const running: Instance[] = [];
  const opened: Array<{ end(): Promise<void> }> = [];
  const streams: SseTestStream[] = [];
  /** Opens a stream on an instance's URL, closed after the test. */
  const open = async (base: string, path: string) => {
    const stream = await openSseStream(base, path, { timeout: 15_000 });
    streams.push(stream);
    return stream;
  };
  const table = () => `sse_${randomUUID().replace(/-/g, '')}`;
  const start = async (transport: PostgresTransport, { waitForPostgres = true } = {}): Promise<Instance> => {
    const app = await startApp({ controllers: [RoomsController, PresenceController] }, { transport });
    if (waitForPostgres) await transport.ready();
    const instance = { ...app, hub: app.app.get(SseHub), transport };
    running.push(instance);
    return instance;
  };
  const join = async (on: Instance, room: string, headers: Record<string, string> = {}) => {
    const stream = await openSseStream(on.url, `/r/${room}/events`, { headers, timeout: 15_000 });
    const hello = await stream.nextEvent();
    if (hello.event !== 'hello') throw new Error(`expected hello, got ${hello.event}`);
    return { stream, id: hello.data };
  };
  const connect = async () => {
    const client = new Client({ connectionString: pg.url });
    await client.connect();
    opened.push(client);
    return client;
  };

  beforeAll(async () => (pg = await PostgresServer.start(binDir)), 60_000);
  afterAll(() => pg?.stop());
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    for (const app of running.splice(0)) await app.app.close();
    for (const client of opened.splice(0)) await client.end().catch(() => undefined);
  });

  it('never skips a row that commits late: concurrent publishers on many connections, and transactions that commit out of order', async () => {
    const name = table();
    // Four publishing instances (four pools), and a fifth that only reads.
    const publishers = await Promise.all(
      [1, 2, 3, 4].map(() => start(new PostgresTransport({ connectionString: pg.url, table: name }))),
    );
    const reader = await start(new PostgresTransport({ connectionString: pg.url, table: name }));
    const client = await join(reader, 'x');
    // Eight more connections, each publishing in transactions that take their time to commit
    // after the insert (the insert takes a number long before the commit makes it visible).
    const outboxes = await Promise.all(Array.from({ length: 8 }, () => connect()));

    const committed: string[] = [];
    const ROUNDS = 40;
    const direct = publishers.map(async (instance, p) => {
      for (let n = 0; n < ROUNDS; n++) {
        const value = `direct ${p}:${n}`;
        await instance.hub.broadcast({ event: 'n', data: value }, { channels: 'x' });
        committed.push(value);
      }
    });
    const inTransactions = outboxes.map(async (tx, t) => {
      for (let n = 0; n < ROUNDS / 2; n++) {
        const value = `tx ${t}:${n}`;
        await tx.query('BEGIN');
        await publishers[t % publishers.length].transport.publishIn(
          tx,
          { event: 'n', data: value },
          { channels: 'x' },
        );
        await tx.query('SELECT pg_sleep(random() * 0.02)');
        // One in five is rolled back: it must never be seen.
        if (n % 5 === 4) await tx.query('ROLLBACK');
        else {
          await tx.query('COMMIT');
          committed.push(value);
        }
      }
    });
    await Promise.all([...direct, ...inTransactions]);
    await publishers[0].hub.broadcast({ event: 'n', data: 'end' }, { channels: 'x' });

    const got = await until(client.stream, 'end');
    expect(got.map((event) => event.data).sort()).toEqual([...committed].sort());
    // One order, the ids', with no duplicate.
    const positions = got.map((event) => position(event.id));
    expect(positions.every((p, i) => i === 0 || p > positions[i - 1])).toBe(true);
    expect(got.some((event) => /:(4|9|14|19)$/.test(event.data) && event.data.startsWith('tx'))).toBe(false);
    console.log(
      `commit order: ${committed.length} broadcasts (${4 * ROUNDS} from 4 pools, ${committed.length - 4 * ROUNDS} from 8 transactions that committed late), all read once, in id order`,
    );
    client.stream.close();
  }, 60_000);

  it('publishIn: out when the transaction commits, never when it rolls back; with any query runner, an idempotency key, and a refusal for a value it cannot send', async () => {
    const name = table();
    const a = await start(new PostgresTransport({ connectionString: pg.url, table: name }));
    const b = await start(new PostgresTransport({ connectionString: pg.url, table: name }));
    const onB = await join(b, 'orders');
    const tx = await connect();

    await tx.query('BEGIN');
    await a.transport.publishIn(tx, { event: 'order', data: 'rolled back' }, { channels: 'orders' });
    await tx.query('ROLLBACK');

    await tx.query('BEGIN');
    await a.transport.publishIn(
      tx,
      { event: 'order', data: 'committed' },
      { channels: 'orders', idempotencyKey: 'order-1' },
    );
    // Not before the commit, on any instance: a marker broadcast overtakes it.
    await a.hub.broadcast({ event: 'order', data: 'marker' }, { channels: 'orders' });
    expect((await onB.stream.nextEvent()).data).toBe('marker');
    await tx.query('COMMIT');
    expect((await onB.stream.nextEvent()).data).toBe('committed');

    // An ORM's handle (TypeORM's EntityManager.query(text, parameters)) works the same; the key is not published twice.
    const manager = { query: (text: string, parameters?: unknown[]) => tx.query(text, parameters) };
    await manager.query('BEGIN');
    await a.transport.publishIn(
      manager,
      { event: 'order', data: 'committed again' },
      { channels: 'orders', idempotencyKey: 'order-1' },
    );
    await a.transport.publishIn(manager, { event: 'order', data: 'second' }, { channels: 'orders' });
    await manager.query('COMMIT');
    expect((await onB.stream.nextEvent()).data).toBe('second');

    await expect(a.transport.publishIn(tx, { event: 'bad\nname', data: 'x' })).rejects.toThrow(
      SseEncodeError,
    );
    await expect(a.transport.publishIn(undefined as never, 'x')).rejects.toThrow(
      /must run queries in your transaction/,
    );
    onB.stream.close();
  });

  it('carries messages far over NOTIFY’s 8,000 bytes: the payload wakes, the table carries', async () => {
    const name = table();
    const [a, b] = await Promise.all([
      start(new PostgresTransport({ connectionString: pg.url, table: name })),
      start(new PostgresTransport({ connectionString: pg.url, table: name })),
    ]);
    const onB = await join(b, 'x');
    const big = 'x'.repeat(200_000);
    await a.hub.broadcast({ event: 'big', data: big }, { channels: 'x' });
    expect((await onB.stream.nextEvent()).data).toBe(big);
    onB.stream.close();
  });

  it('carries what SQL would choke on, as it was sent (quotes, backslashes, dollar quotes, NUL, emoji), and a retried idempotency key once', async () => {
    const name = table();
    const [a, b] = await Promise.all([
      start(new PostgresTransport({ connectionString: pg.url, table: name })),
      start(new PostgresTransport({ connectionString: pg.url, table: name })),
    ]);
    const onB = await join(b, 'x');
    const nasty = [
      "it's",
      "'); DROP TABLE sse_hub_messages; --",
      "back\\slash \\' E'x'",
      '$sse$ $$ $1',
      'nul \u0000 here',
      'emoji 🎉 and \ud83d alone',
      'ünïcödé',
    ];
    for (const text of nasty) await a.hub.broadcast({ event: 'n', data: { text } }, { channels: 'x' });
    await a.hub.broadcast({ event: 'n', data: { text: 'once' } }, { channels: 'x', idempotencyKey: 'k1' });
    await b.hub.broadcast({ event: 'n', data: { text: 'once' } }, { channels: 'x', idempotencyKey: 'k1' });
    await a.hub.broadcast({ event: 'n', data: { text: 'end' } }, { channels: 'x' });
    const got = (await onB.stream.take(nasty.length + 2)).map((event) => JSON.parse(event.data).text);
    expect(got).toEqual([...nasty.map((text) => JSON.parse(JSON.stringify(text))), 'once', 'end']);
    onB.stream.close();
  });

  it('catches up from the table after its listener is cut off, whatever was published meanwhile', async () => {
    const name = table();
    const [a, b] = await Promise.all([
      start(new PostgresTransport({ connectionString: pg.url, table: name })),
      start(new PostgresTransport({ connectionString: pg.url, table: name })),
    ]);
    const onB = await join(b, 'x');
    const sent: string[] = [];
    for (let n = 0; n < 200; n++) {
      // Every listener, several times, while A publishes: each NOTIFY sent meanwhile is lost.
      if (n % 50 === 10) expect(await pg.terminateBackends(LISTENER_NAME)).toBeGreaterThan(0);
      await a.hub.broadcast({ event: 'n', data: String(n) }, { channels: 'x' });
      sent.push(String(n));
    }
    await a.hub.broadcast({ event: 'n', data: 'end' }, { channels: 'x' });
    expect((await until(onB.stream, 'end')).map((event) => event.data)).toEqual(sent);
    onB.stream.close();
  });

  it('listens on listenConnectionString (for PgBouncer in transaction mode) and publishes on the pool the app gave, which it leaves open', async () => {
    const role = `listener_${randomUUID().slice(0, 8)}`;
    await pg.query(`CREATE ROLE ${role} LOGIN SUPERUSER`);
    const name = table();
    const pool = new Pool({ connectionString: pg.url, max: 2 });
    opened.push(pool);
    const listenConnectionString = pg.url.replace('postgres@', `${role}@`);
    const a = await start(new PostgresTransport({ pool, listenConnectionString, table: name }));
    const listeners = await pg.query<{ usename: string }>(
      `SELECT usename FROM pg_stat_activity WHERE application_name = $1`,
      [LISTENER_NAME],
    );
    expect(listeners.map((row) => row.usename)).toContain(role);
    const onA = await join(a, 'x');
    await a.hub.broadcast({ event: 'n', data: 'through the pool' }, { channels: 'x' });
    expect((await onA.stream.nextEvent()).data).toBe('through the pool');
    onA.stream.close();
    await a.app.close();
    running.splice(running.indexOf(a), 1);
    // The app's pool is the app's to close.
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('creates its table in a schema of its own, once, when instances start together', async () => {
    const schema = `hub_${randomUUID().slice(0, 8)}`;
    const name = 'Events Of The Hub';
    const instances = await Promise.all(
      [1, 2, 3].map(() => start(new PostgresTransport({ connectionString: pg.url, schema, table: name }))),
    );
    const tables = await pg.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [schema],
    );
    expect(tables.map((row) => row.table_name)).toEqual([
      name,
      `${name}_instances`,
      `${name}_presence`,
      `${name}_run_events`,
      `${name}_runs`,
      `${name}_trimmed`,
    ]);
    const onC = await join(instances[2], 'x');
    await instances[0].hub.broadcast({ event: 'n', data: 'made once' }, { channels: 'x' });
    expect((await onC.stream.nextEvent()).data).toBe('made once');
    onC.stream.close();
  });

  it('trims to about maxLen, and by maxAge, oldest first', async () => {
    const name = table();
    const a = await start(new PostgresTransport({ connectionString: pg.url, table: name, maxLen: 50 }));
    for (let n = 0; n < 500; n++) await a.hub.broadcast({ event: 'n', data: String(n) });
    const count = async () =>
      Number((await pg.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`))[0].n);
    // Trimmed about a second after the last publish.
    for (let tries = 0; (await count()) > 50 && tries < 100; tries++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await count()).toBe(50);
    const [{ oldest }] = await pg.query<{ oldest: string }>(
      `SELECT min(position)::text AS oldest FROM ${name}`,
    );
    const [{ newest }] = await pg.query<{ newest: string }>(
      `SELECT max(position)::text AS newest FROM ${name}`,
    );
    expect(Number(newest) - Number(oldest)).toBe(49);

    const aged = table();
    // Trimmed a second after a publish: 'young' is then 1 s old, 'old' 3 s.
    const b = await start(new PostgresTransport({ connectionString: pg.url, table: aged, maxAge: 3000 }));
    await b.hub.broadcast({ event: 'n', data: 'old' });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await b.hub.broadcast({ event: 'n', data: 'young' });
    for (
      let tries = 0;
      (await pg.query(`SELECT 1 FROM ${aged} WHERE message LIKE '%old%'`)).length > 0 && tries < 100;
      tries++
    )
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(
      (await pg.query<{ message: string }>(`SELECT message FROM ${aged}`)).map(
        (row) => JSON.parse(row.message).value.data,
      ),
    ).toEqual(['young']);
  });

  it('starts without PostgreSQL, says why, refuses broadcasts meanwhile, and works once it is there; stats() says down with the reason', async () => {
    const later = await PostgresServer.start(binDir);
    await later.pause();
    try {
      const transport = new PostgresTransport({ connectionString: later.url, table: table() });
      const a = await start(transport, { waitForPostgres: false });
      const client = await join(a, 'x');
      await expect(a.hub.broadcast({ event: 'n', data: 'lost' }, { channels: 'x' })).rejects.toThrow(
        SseTransportUnavailableError,
      );
      await expect(a.hub.broadcast('x')).rejects.toThrow(
        /PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres is not reachable .*Retry once PostgreSQL is back/,
      );
      expect(a.hub.stats().transport).toEqual({
        name: 'PostgresTransport',
        up: false,
        reason: expect.stringMatching(/listener connection is not ready .*ECONNREFUSED/),
      });
      expect(a.logger.errors().join('\n')).toMatch(
        /PostgreSQL (listener|pool) connection to postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres failed .*retrying/,
      );
      await later.restart();
      await transport.ready();
      for (;;) {
        try {
          await a.hub.broadcast({ event: 'n', data: 'found' }, { channels: 'x' });
          break;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      expect((await client.stream.nextEvent()).data).toBe('found');
      expect(a.hub.stats().transport).toEqual({ name: 'PostgresTransport', up: true });
      client.stream.close();
    } finally {
      await later.stop();
    }
  }, 60_000);

  it('forgets the streams of an instance killed without a goodbye within presenceTtl, by the database clock', async () => {
    const name = table();
    const ttl = 1_000;
    const a = await start(new PostgresTransport({ connectionString: pg.url, table: name, presenceTtl: ttl }));
    const doomed = await spawnInstance({ DATABASE_URL: pg.url, TABLE: name, PRESENCE_TTL: String(ttl) });
    try {
      const ann = await openSseStream(a.url, '/r/x/events', { timeout: 15_000 });
      const others = await Promise.all(
        ['bob', 'cyd'].map((user) => openSseStream(doomed.url, `/p/x?user=${user}`, { timeout: 15_000 })),
      );
      await within(5_000, 'both instances in presence', async () => (await a.hub.presence()).count === 3);
      expect((await a.hub.presence('room:x')).clients.map((client) => client.info)).toEqual(
        expect.arrayContaining([{ user: 'bob' }, { user: 'cyd' }]),
      );
      doomed.child.kill('SIGKILL');
      await once(doomed.child, 'exit');
      const took = await within(
        ttl * 5,
        "the killed instance's streams are gone from presence",
        async () => (await a.hub.presence()).count === 1,
      );
      console.log(`presence: a killed instance's streams were gone after ${took} ms (presenceTtl ${ttl} ms)`);
      for (const stream of [ann, ...others]) stream.close();
    } finally {
      doomed.child.kill('SIGKILL');
    }
  });

  it("sends the members of a killed instance's stream one leave per channel, from one of the live instances", async () => {
    const name = table();
    const ttl = 1_000;
    const [a, b] = await Promise.all(
      [0, 1].map(() =>
        start(new PostgresTransport({ connectionString: pg.url, table: name, presenceTtl: ttl })),
      ),
    );
    const doomed = await spawnInstance({ DATABASE_URL: pg.url, TABLE: name, PRESENCE_TTL: String(ttl) });
    try {
      await expectOneLeavePerChannelOfAKilledInstance([a, b], doomed, ttl, open);
    } finally {
      doomed.child.kill('SIGKILL');
    }
  }, 60_000);

  it('takes its streams back into presence, and tells their members, after another instance took it for dead (a heartbeat later than the TTL)', async () => {
    const name = table();
    const ttl = 1_000;
    const a = await start(new PostgresTransport({ connectionString: pg.url, table: name, presenceTtl: ttl }));
    const paused = await spawnInstance({ DATABASE_URL: pg.url, TABLE: name, PRESENCE_TTL: String(ttl) });
    try {
      await expectLeaveThenJoinOfAPausedInstance(a, paused, open);
    } finally {
      paused.child.kill('SIGKILL');
    }
  }, 60_000);

  it('upgrades the presence table of an earlier install in place (its user column), which a role that may not create then uses as it is', async () => {
    const schema = `earlier_${randomUUID().slice(0, 8)}`;
    const role = `app_${randomUUID().slice(0, 8)}`;
    const on = (url: string) => new PostgresTransport({ connectionString: url, schema, table: 'hub' });
    // What an earlier version made: the same tables, the presence one without its user column (nor its index).
    const earlier = on(pg.url);
    await earlier.runStore.get('k');
    await earlier.close();
    await pg.query(`ALTER TABLE "${schema}".hub_presence DROP COLUMN user_id`);
    // Its owner's next instance, of this version, adds it at start-up.
    const a = await start(on(pg.url));
    expect(
      await pg.query(
        `SELECT a.attname, i.indexname FROM pg_attribute AS a, pg_indexes AS i
         WHERE a.attrelid = '"${schema}".hub_presence'::regclass AND a.attname = 'user_id' AND NOT a.attisdropped
         AND i.schemaname = $1 AND i.indexname = 'hub_presence_user'`,
        [schema],
      ),
    ).toEqual([{ attname: 'user_id', indexname: 'hub_presence_user' }]);
    // The app's role may read and write the tables, not change them: nothing is created for it.
    await pg.query(
      `CREATE ROLE "${role}" LOGIN; GRANT USAGE ON SCHEMA "${schema}" TO "${role}"; ` +
        `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "${schema}" TO "${role}"; ` +
        `GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA "${schema}" TO "${role}"`,
    );
    const b = await start(on(pg.url.replace('//postgres@', `//${role}@`)));
    const annOnA = await openMember(open, a.url, 'x', 'ann');
    const annOnB = await openMember(open, b.url, 'y', 'ann');
    const bob = await openMember(open, b.url, 'x', 'bob');
    for (const hub of [a.hub, b.hub]) {
      await within(5_000, "ann's streams on both instances", async () => {
        const { clients } = await hub.presence({ user: 'ann' });
        return clients.length === 2 && clients.every((client) => client.user === 'ann');
      });
      expect((await hub.presence({ user: 'ann' })).clients.map((client) => client.id).sort()).toEqual(
        [annOnA.id, annOnB.id].sort(),
      );
      expect((await hub.presence({ user: 'ann', channel: 'room:y' })).clients.map((c) => c.id)).toEqual([
        annOnB.id,
      ]);
      expect((await hub.presence({ user: 'bob' })).clients.map((client) => client.id)).toEqual([bob.id]);
    }
  });

  it('refuses options that cannot work, saying what to give', () => {
    expect(() => new PostgresTransport({})).toThrow(/connectionString .* or the app's pg pool/);
    expect(() => new PostgresTransport({ connectionString: pg.url, maxLen: 0 })).toThrow(
      /maxLen must be a positive integer/,
    );
    expect(() => new PostgresTransport({ connectionString: pg.url, table: 'x'.repeat(60) })).toThrow(
      /table must be a name of 1 to 45 bytes/,
    );
  });
});
