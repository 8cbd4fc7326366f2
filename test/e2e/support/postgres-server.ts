import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
// The cluster itself (initdb, postgres as an unprivileged user, restart, stop) is shared
// with the benchmark (npm run bench:postgres), which starts one the same way.
import { findPostgres, PostgresCluster } from '../../../bench/lib/postgres-server';

/**
 * Where Debian's postgresql package puts the server's binaries (off the PATH, one
 * directory per major version): the newest one's bin directory, or undefined. `npm test`
 * installs it (test/support/ensure-tools.sh).
 */
export { findPostgres };

/** A backend as `pg_stat_activity` shows it, for `terminateBackends`. */
export interface PostgresBackend {
  pid: number;
  applicationName: string;
  database: string | null;
}

/**
 * A throwaway PostgreSQL cluster on a loopback port (Debian's binaries, run by the test
 * itself): `initdb` into a temporary directory, then `postgres` on a free port, trust
 * authentication for the user `postgres`, no fsync. The test can restart it (same port,
 * same data: what was committed survives), kill backends, and stop it (the directory is
 * removed).
 *
 * PostgreSQL will not run as root: a root test process runs initdb and postgres as an
 * unprivileged user (`postgres`, which the Debian package creates, else `nobody`, else
 * one made with useradd), through `setpriv`, which execs in place, so the signals the test
 * sends reach the postmaster itself (see bench/lib/postgres-server.js).
 */
export class PostgresServer {
  private constructor(private readonly cluster: PostgresCluster) {}

  static async start(binDir = findPostgres()): Promise<PostgresServer> {
    if (!binDir)
      throw new Error(
        'PostgreSQL is not installed: run `npm test`, which installs it (Debian package postgresql).',
      );
    return new PostgresServer(await PostgresCluster.start({ binDir }));
  }

  get port(): number {
    return this.cluster.port;
  }

  /** The `postgres` database, as the superuser `postgres` (trust: no password). */
  get url(): string {
    return this.urlOf('postgres');
  }

  urlOf(database: string): string {
    return this.cluster.urlOf(database);
  }

  /** A fresh database (`CREATE DATABASE`), for a test that wants one of its own; its URL. */
  async createDatabase(name = `sse_test_${randomUUID().replace(/-/g, '')}`): Promise<string> {
    await this.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    return this.urlOf(name);
  }

  /** Runs one statement on an admin connection of its own (opened and closed here). */
  async query<Row extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
  ): Promise<Row[]> {
    const client = new Client({ connectionString: this.url, application_name: 'sse-hub-test-admin' });
    await client.connect();
    try {
      return (await client.query<Row>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  /**
   * Kills client backends (`pg_terminate_backend`), as a network failure or an
   * administrator would, and waits until each is gone: those with this application_name,
   * those a predicate picks, or every one but the admin connection asking. How many.
   */
  async terminateBackends(which?: string | ((backend: PostgresBackend) => boolean)): Promise<number> {
    const rows = await this.query<{ pid: number; application_name: string; datname: string | null }>(
      "SELECT pid, application_name, datname FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND ($1::text IS NULL OR application_name = $1)",
      [typeof which === 'string' ? which : null],
    );
    const pids = rows
      .map((row) => ({ pid: row.pid, applicationName: row.application_name, database: row.datname }))
      .filter((backend) => typeof which !== 'function' || which(backend))
      .map((backend) => backend.pid);
    if (pids.length === 0) return 0;
    // With a timeout, pg_terminate_backend waits for the backend to exit (PostgreSQL 14+).
    const killed = await this.query<{ gone: boolean }>(
      'SELECT pg_terminate_backend(pid, 5000) AS gone FROM unnest($1::int[]) AS pid',
      [pids],
    );
    return killed.filter((row) => row.gone).length;
  }

  /** Stops it (a fast shutdown) and starts it again on the same port and data: what was committed survives. */
  restart(): Promise<void> {
    return this.cluster.restart();
  }

  /** Stops it, keeping its port and data until `restart()`: PostgreSQL away for a while. */
  pause(): Promise<void> {
    return this.cluster.pause();
  }

  /** Stops it (a fast shutdown: open transactions are rolled back) and removes its files. */
  stop(): Promise<void> {
    return this.cluster.stop();
  }
}
