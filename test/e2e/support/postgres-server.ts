import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './redis-server';

/**
 * Where Debian's postgresql package puts the server's binaries (off the PATH, one
 * directory per major version): the newest one's bin directory, or undefined. `npm test`
 * installs it (test/support/ensure-tools.sh).
 */
export function findPostgres(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((version) => existsSync(join(root, version, 'bin', 'postgres')) && existsSync(join(root, version, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a) || b.localeCompare(a));
  return versions.length > 0 ? join(root, versions[0], 'bin') : undefined;
}

/** A backend as `pg_stat_activity` shows it, for `terminateBackends`. */
export interface PostgresBackend {
  pid: number;
  applicationName: string;
  database: string | null;
}

/** Who runs the server: PostgreSQL refuses to run as root. */
interface RunAs {
  uid: number;
  gid: number;
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
 * sends reach the postmaster itself.
 */
export class PostgresServer {
  private child: ChildProcess | undefined;

  private constructor(
    private readonly binDir: string,
    private readonly dir: string,
    readonly port: number,
    private readonly runAs: RunAs | undefined,
  ) {}

  static async start(binDir = findPostgres()): Promise<PostgresServer> {
    if (!binDir) throw new Error('PostgreSQL is not installed: run `npm test`, which installs it (Debian package postgresql).');
    const runAs = process.getuid?.() === 0 ? unprivilegedUser() : undefined;
    const dir = mkdtempSync(join(tmpdir(), 'nestjs-sse-hub-pg-'));
    try {
      if (runAs) chownSync(dir, runAs.uid, runAs.gid);
      const server = new PostgresServer(binDir, dir, await freePort(), runAs);
      await server.initdb();
      await server.launch();
      return server;
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** The `postgres` database, as the superuser `postgres` (trust: no password). */
  get url(): string {
    return this.urlOf('postgres');
  }

  urlOf(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** A fresh database (`CREATE DATABASE`), for a test that wants one of its own; its URL. */
  async createDatabase(name = `sse_test_${randomUUID().replace(/-/g, '')}`): Promise<string> {
    await this.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    return this.urlOf(name);
  }

  /** Runs one statement on an admin connection of its own (opened and closed here). */
  async query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<Row[]> {
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
    const killed = await this.query<{ gone: boolean }>('SELECT pg_terminate_backend(pid, 5000) AS gone FROM unnest($1::int[]) AS pid', [pids]);
    return killed.filter((row) => row.gone).length;
  }

  /** Stops it (a fast shutdown) and starts it again on the same port and data: what was committed survives. */
  async restart(): Promise<void> {
    await this.halt();
    await this.launch();
  }

  /** Stops it, keeping its port and data until `restart()`: PostgreSQL away for a while. */
  async pause(): Promise<void> {
    await this.halt();
  }

  /** Stops it (a fast shutdown: open transactions are rolled back) and removes its files. */
  async stop(): Promise<void> {
    try {
      await this.halt();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  private async initdb(): Promise<void> {
    const child = this.spawn('initdb', ['-D', this.dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-locale', '--no-sync']);
    let output = '';
    for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`initdb exited with ${String(code)}:\n${output}`);
  }

  /** Starts the postmaster and resolves once it accepts connections (it says so on stderr), or rejects with its output. */
  private async launch(): Promise<void> {
    // The socket goes into the test's own directory, not /var/run/postgresql (root's).
    const args = ['-D', this.dataDir, '-p', String(this.port), '-k', this.dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'];
    const child = this.spawn('postgres', args);
    this.child = child;
    let output = '';
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`postgres did not accept connections within 30 s:\n${output}`));
      }, 30_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('database system is ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`postgres exited with ${String(code ?? signal)} before it was ready:\n${output}`));
      });
    });
    await ready;
    // Past the log line: a connection must work, as the transports will make them.
    await this.query('SELECT 1');
  }

  /** A fast shutdown (SIGINT), waiting for the postmaster to exit; SIGKILL if it takes over 15 s. */
  private async halt(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private spawn(binary: string, args: string[]): ChildProcess {
    const path = join(this.binDir, binary);
    const [command, commandArgs] = this.runAs ? ['setpriv', [`--reuid=${this.runAs.uid}`, `--regid=${this.runAs.gid}`, '--clear-groups', '--', path, ...args]] : [path, args];
    // Never the test run's own stdio: a server left behind must not hold CI's output open.
    // Its cwd is its own directory: the unprivileged user may not read the test's.
    return spawn(command, commandArgs, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
  }
}

/** An existing unprivileged user to run PostgreSQL as, or one made for it. */
function unprivilegedUser(): RunAs {
  for (const name of ['postgres', 'nobody']) {
    const user = lookUp(name);
    if (user) return user;
  }
  const name = 'sse-hub-test';
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], { stdio: 'ignore' });
  const made = lookUp(name);
  if (!made) throw new Error(`could not create the user ${name} to run PostgreSQL as (it refuses to run as root)`);
  return made;
}

function lookUp(name: string): RunAs | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) && uid !== 0 ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}
