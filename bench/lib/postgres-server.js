// A throwaway PostgreSQL cluster on a loopback port, started by the benchmark
// (bench/postgres.js) and by the e2e tests (test/e2e/support/postgres-server.ts wraps it):
// Debian's initdb and postgres, found under /usr/lib/postgresql/<version>/bin (off the
// PATH), trust authentication for the user `postgres`, no fsync unless asked for.
//
// PostgreSQL will not run as root: a root process runs initdb and postgres as an
// unprivileged user (`postgres`, which the Debian package creates, else `nobody`, else
// one made with useradd), through `setpriv`, which execs in place, so the signals sent to
// the child reach the postmaster itself.
const { execFileSync, spawn } = require('node:child_process');
const { once } = require('node:events');
const { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Client } = require('pg');
const { freePort } = require('./port');

/**
 * Where Debian's postgresql package puts the server's binaries (one directory per major
 * version): the newest one's bin directory, or undefined. `npm test` installs it
 * (test/support/ensure-tools.sh).
 */
function findPostgres() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter(
      (version) =>
        existsSync(join(root, version, 'bin', 'postgres')) &&
        existsSync(join(root, version, 'bin', 'initdb')),
    )
    .sort((a, b) => Number(b) - Number(a) || b.localeCompare(a));
  return versions.length > 0 ? join(root, versions[0], 'bin') : undefined;
}

/** The settings every cluster gets, before `settings` given to start(). */
const DEFAULT_SETTINGS = { listen_addresses: '127.0.0.1', fsync: 'off', max_connections: '200' };

/**
 * `initdb` into a temporary directory, then `postgres` on a free port. It can be stopped
 * and started again on the same port and data (what was committed survives), and
 * stopped for good (the directory is removed).
 */
class PostgresCluster {
  /**
   * `binDir`: findPostgres()'s by default. `settings`: server settings (`-c name=value`)
   * over the defaults, e.g. `{ fsync: 'on' }`.
   */
  static async start({ binDir = findPostgres(), settings = {} } = {}) {
    if (!binDir)
      throw new Error(
        'PostgreSQL is not installed: run `npm test`, which installs it (Debian package postgresql), or `apt-get install postgresql`.',
      );
    const runAs = process.getuid?.() === 0 ? unprivilegedUser() : undefined;
    const dir = mkdtempSync(join(tmpdir(), 'nestjs-sse-hub-pg-'));
    try {
      if (runAs) chownSync(dir, runAs.uid, runAs.gid);
      const cluster = new PostgresCluster(binDir, dir, await freePort(), runAs, {
        ...DEFAULT_SETTINGS,
        ...settings,
      });
      await cluster.initdb();
      await cluster.launch();
      return cluster;
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  constructor(binDir, dir, port, runAs, settings) {
    this.binDir = binDir;
    this.dir = dir;
    this.port = port;
    this.runAs = runAs;
    this.settings = settings;
    this.child = undefined;
  }

  /** The `postgres` database, as the superuser `postgres` (trust: no password). */
  get url() {
    return this.urlOf('postgres');
  }

  urlOf(database) {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Stops it (a fast shutdown) and starts it again on the same port and data. */
  async restart() {
    await this.halt();
    await this.launch();
  }

  /** Stops it, keeping its port and data until `restart()`. */
  async pause() {
    await this.halt();
  }

  /** Stops it (a fast shutdown: open transactions are rolled back) and removes its files. */
  async stop() {
    try {
      await this.halt();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  get dataDir() {
    return join(this.dir, 'data');
  }

  async initdb() {
    const child = this.spawn('initdb', [
      '-D',
      this.dataDir,
      '-A',
      'trust',
      '-U',
      'postgres',
      '-E',
      'UTF8',
      '--no-locale',
      '--no-sync',
    ]);
    let output = '';
    for (const stream of [child.stdout, child.stderr])
      stream.on('data', (chunk) => (output += chunk.toString()));
    const [code] = await once(child, 'exit');
    if (code !== 0) throw new Error(`initdb exited with ${String(code)}:\n${output}`);
  }

  /** Starts the postmaster and resolves once it accepts connections (it says so on stderr), or rejects with its output. */
  async launch() {
    // The socket goes into the cluster's own directory, not /var/run/postgresql (root's).
    const args = ['-D', this.dataDir, '-p', String(this.port), '-k', this.dir];
    for (const [name, value] of Object.entries(this.settings)) args.push('-c', `${name}=${value}`);
    const child = this.spawn('postgres', args);
    this.child = child;
    let output = '';
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`postgres did not accept connections within 30 s:\n${output}`));
      }, 30_000);
      const onData = (chunk) => {
        output += chunk.toString();
        if (output.includes('database system is ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`postgres exited with ${String(code ?? signal)} before it was ready:\n${output}`));
      });
    });
    // Past the log line: a connection must work, as the transports will make them.
    const client = new Client({ connectionString: this.url, application_name: 'sse-hub-admin' });
    await client.connect();
    try {
      await client.query('SELECT 1');
    } finally {
      await client.end();
    }
  }

  /** A fast shutdown (SIGINT), waiting for the postmaster to exit; SIGKILL if it takes over 15 s. */
  async halt() {
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

  spawn(binary, args) {
    const path = join(this.binDir, binary);
    const [command, commandArgs] = this.runAs
      ? [
          'setpriv',
          [`--reuid=${this.runAs.uid}`, `--regid=${this.runAs.gid}`, '--clear-groups', '--', path, ...args],
        ]
      : [path, args];
    // Never the caller's own stdio: a server left behind must not hold a CI run's output open.
    // Its cwd is its own directory: the unprivileged user may not read the caller's.
    return spawn(command, commandArgs, {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    });
  }
}

/** An existing unprivileged user to run PostgreSQL as, or one made for it. */
function unprivilegedUser() {
  for (const name of ['postgres', 'nobody']) {
    const user = lookUp(name);
    if (user) return user;
  }
  const name = 'sse-hub-test';
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], {
    stdio: 'ignore',
  });
  const made = lookUp(name);
  if (!made)
    throw new Error(`could not create the user ${name} to run PostgreSQL as (it refuses to run as root)`);
  return made;
}

function lookUp(name) {
  try {
    const uid = Number(
      execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    );
    const gid = Number(
      execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    );
    return Number.isInteger(uid) && Number.isInteger(gid) && uid !== 0 ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

module.exports = { findPostgres, PostgresCluster };
