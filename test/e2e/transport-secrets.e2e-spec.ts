import { once } from 'node:events';
import { createServer } from 'node:net';
import { Pool } from 'pg';
import { SseHub } from 'nestjs-sse-hub';
import { PostgresTransport, SseTransportUnavailableError } from 'nestjs-sse-hub/postgres';
import { RedisStreamsTransport } from 'nestjs-sse-hub/redis';
import { within } from './support/instance-process';
import { startApp, type TestApp } from './support/start-app';

// A transport whose server is down says where it is, and why, in logs, state() and each
// refused broadcast: never with a password, whatever form the connection string takes.
// No server runs here: every address is a loopback port nothing listens on.

/** A loopback port that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

type Transport = PostgresTransport | RedisStreamsTransport;

describe('what a transport says while its server is down', () => {
  const apps: TestApp[] = [];
  let port: number;

  beforeAll(async () => (port = await closedPort()));
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.app.close();
  });

  /** Everything the app shows of the transport once it has failed: its state, its logs, and a refused broadcast (message, cause, stacks). */
  async function everythingShown(transport: Transport, before?: (app: TestApp) => void): Promise<string> {
    const app = await startApp({}, { transport });
    apps.push(app);
    before?.(app);
    const hub = app.app.get(SseHub);
    const refused = await hub.broadcast({ event: 'n', data: 'x' }).then(
      () => {
        throw new Error('published with the server down');
      },
      (error: unknown) => error as Error,
    );
    expect(refused).toBeInstanceOf(SseTransportUnavailableError);
    // Both connections (publishing and listening) have failed and said so.
    await within(
      20_000,
      'the transport says both of its connections are down, and has logged why',
      async () => {
        const reason = transport.state().reason ?? '';
        return /(pool|publisher).*(listener|reader)/.test(reason) && app.logger.errors().length >= 2;
      },
    );
    const cause = (refused as { cause?: Error }).cause;
    return [
      transport.state().reason,
      hub.stats().transport.reason,
      refused.message,
      refused.stack,
      cause?.message,
      cause?.stack,
      app.logger.text(),
    ].join('\n');
  }

  const secret = (n: number) => `Secret${n}-${Math.random().toString(36).slice(2)}`;

  it.each([
    [
      'a password in the query (?password=)',
      (s: string) => `postgres://app@127.0.0.1:PORT/app?password=${s}`,
      'postgres://app@127.0.0.1:PORT/app',
    ],
    [
      'a password in the URL',
      (s: string) => `postgres://app:${s}@127.0.0.1:PORT/db`,
      'postgres://app@127.0.0.1:PORT/db',
    ],
    [
      'postgresql://',
      (s: string) => `postgresql://app:${s}@127.0.0.1:PORT/db`,
      'postgres://app@127.0.0.1:PORT/db',
    ],
    [
      'a percent-encoded password',
      (s: string) => `postgres://app:${encodeURIComponent(`p@ss/w:rd?${s}`)}@127.0.0.1:PORT/db`,
      'postgres://app@127.0.0.1:PORT/db',
    ],
    [
      'an sslpassword in the query',
      (s: string) => `postgres://app@127.0.0.1:PORT/db?sslpassword=${s}&application_name=x`,
      'postgres://app@127.0.0.1:PORT/db',
    ],
  ])('PostgreSQL, %s: named without it, in logs, state() and errors', async (_, url, address) => {
    const s = secret(1);
    const connectionString = url(s).replace('PORT', String(port));
    const shown = await everythingShown(new PostgresTransport({ connectionString, table: 'sse_secrets' }));
    for (const hidden of [s, encodeURIComponent(s), `p@ss/w:rd?${s}`]) expect(shown).not.toContain(hidden);
    expect(shown).toContain(`PostgreSQL at ${address.replace('PORT', String(port))}: `);
    expect(shown).toContain('ECONNREFUSED');
  });

  it("PostgreSQL, libpq's key=value form (which node-postgres does not read), or a URL it cannot parse: refused at once, without repeating it", () => {
    const s = secret(2);
    const make = () =>
      new PostgresTransport({
        connectionString: `host=127.0.0.1 port=${port} user=app password=${s} dbname=db`,
      });
    expect(make).toThrow(
      /connectionString is not a connection string node-postgres can read \(it is not a URL\)\. Give a URL/,
    );
    expect(() => make()).not.toThrow(new RegExp(s));
    // A '#' that is not percent-encoded ends the URL's authority: node-postgres cannot parse it.
    const unencoded = () =>
      new PostgresTransport({ connectionString: `postgres://app:pa#${s}@127.0.0.1:${port}/db` });
    expect(unencoded).toThrow(
      /connectionString is not a connection string node-postgres can read \(Invalid URL\)/,
    );
    expect(() => unencoded()).not.toThrow(new RegExp(s));
    const pool = new Pool({ connectionString: `host=127.0.0.1 password=${s}` });
    expect(() => new PostgresTransport({ pool })).toThrow(
      /the pool's connectionString is not a connection string node-postgres can read/,
    );
  });

  it('Redis, a URL node-redis cannot read (a port out of range, an unencoded # in the password): refused at once, without repeating it', () => {
    const s = secret(5);
    for (const url of [`redis://:${s}@127.0.0.1:99999`, `redis://user:pa#${s}@127.0.0.1:${port}`]) {
      let thrown: unknown;
      try {
        new RedisStreamsTransport({ url });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(TypeError);
      expect((thrown as Error).message).toMatch(
        /RedisStreamsTransport: url cannot be read .* it is not repeated here/,
      );
      expect(`${(thrown as Error).stack} ${JSON.stringify(thrown)}`).not.toContain(s);
    }
  });

  it.each([
    [
      'a connection string',
      (s: string, at: number) => new Pool({ connectionString: `postgres://app:${s}@127.0.0.1:${at}/appdb` }),
      'postgres://app@127.0.0.1:PORT/appdb',
    ],
    [
      'fields',
      (s: string, at: number) =>
        new Pool({ host: '127.0.0.1', port: at, user: 'app', password: s, database: 'fields' }),
      'postgres://app@127.0.0.1:PORT/fields',
    ],
  ])(
    "PostgreSQL with the app's pool made of %s: names the server the pool uses, not its password",
    async (_, makePool, address) => {
      const s = secret(3);
      const pool = makePool(s, port);
      const shown = await everythingShown(new PostgresTransport({ pool, table: 'sse_secrets' }));
      expect(shown).not.toContain(s);
      expect(shown).toContain(`PostgreSQL at ${address.replace('PORT', String(port))}: `);
      await pool.end();
    },
  );

  it('PostgreSQL: a driver error that quotes the password is passed on without it (as the cause, in state() and in logs)', async () => {
    const s = secret(4);
    const connectionString = `postgres://app:${s}@127.0.0.1:${port}/db`;
    const pool = new Pool({ connectionString });
    const quoting = () =>
      Object.assign(new Error(`could not connect to ${connectionString} (password ${s})`), {
        code: 'ECONNREFUSED',
      });
    pool.query = (() => Promise.reject(quoting())) as never;
    const shown = await everythingShown(
      new PostgresTransport({ pool, table: 'sse_secrets' }),
      () => void pool.emit('error', quoting(), undefined as never),
    );
    expect(shown).not.toContain(s);
    expect(shown).toContain('could not connect to postgres://app:***@127.0.0.1');
    await pool.end();
  });

  it.each([
    ['a password and no user', (s: string) => `redis://:${s}@127.0.0.1:PORT`, 'redis://127.0.0.1:PORT'],
    [
      'rediss:// with a user',
      (s: string) => `rediss://user:${s}@127.0.0.1:PORT`,
      'rediss://user@127.0.0.1:PORT',
    ],
    [
      'a query string',
      (s: string) => `redis://user:${s}@127.0.0.1:PORT/2?password=${s}x&name=a`,
      'redis://user@127.0.0.1:PORT/2',
    ],
  ])('Redis, %s: named without it, in logs, state() and errors', async (_, url, address) => {
    const s = secret(5);
    const shown = await everythingShown(
      new RedisStreamsTransport({ url: url(s).replace('PORT', String(port)), stream: 'sse-secrets' }),
    );
    expect(shown).not.toContain(s);
    expect(shown).toContain(`Redis at ${address.replace('PORT', String(port))}: `);
  });
});
