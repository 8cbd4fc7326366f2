import { Client, type ClientConfig, type Pool } from 'pg';
import { ServerAddress } from '../transport-kit';

/** What a pool's options hold for the pool itself, not for its clients. */
const POOL_ONLY = [
  'max',
  'min',
  'idleTimeoutMillis',
  'maxUses',
  'maxLifetimeSeconds',
  'allowExitOnIdle',
  'log',
];
/** A URL (`postgres://`, `postgresql://`, `socket:`), or a Unix socket's directory, as node-postgres reads them. */
const READABLE = /^([a-z][a-z0-9+.-]*:|\/)/i;

/** The connection settings of a pool (what its clients are made with), for the listener's own connection. */
export function connectionOf(pool: Pool): ClientConfig {
  const config: Record<string, unknown> = { ...pool.options };
  for (const poolOnly of POOL_ONLY) delete config[poolOnly];
  return config as ClientConfig;
}

/**
 * Where a connection goes, as node-postgres itself resolves it (the connection string over
 * the fields, then the `PG*` variables, then its defaults): the server a pool handed to the
 * transport really uses, and every password it knows of, to keep out of logs and errors.
 */
export function serverOf(
  what: string,
  config: ClientConfig,
  secretSources: readonly unknown[] = [],
): ServerAddress {
  const { connectionString } = config;
  // Never repeated in the message: it may hold a password.
  const unreadable = (why: string) =>
    new TypeError(
      `PostgresTransport: ${what} is not a connection string node-postgres can read (${why}). ` +
        'Give a URL, postgres://user:password@host:5432/database ' +
        "(percent-encode a password's special characters; libpq's key=value form is not read by node-postgres).",
    );
  if (connectionString !== undefined && !READABLE.test(connectionString)) throw unreadable('it is not a URL');
  let resolved: Client;
  try {
    // Only read (and the files it names, sslcert...): a client that is never connected opens no connection.
    resolved = new Client(config);
  } catch (error) {
    throw unreadable(new ServerAddress(connectionString ?? '', [config]).scrub((error as Error).message));
  }
  const password = typeof resolved.password === 'string' ? resolved.password : undefined;
  return new ServerAddress(
    {
      scheme: 'postgres',
      user: resolved.user,
      host: resolved.host,
      port: resolved.port,
      database: resolved.database,
    },
    [config, password, ...secretSources],
  );
}
