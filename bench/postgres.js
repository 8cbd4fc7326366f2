// Across instances through PostgreSQL, against Redis in the same run (npm run bench:postgres):
// a redis-server and a PostgreSQL cluster of its own (or the one BENCH_DATABASE_URL names),
// and for each transport two hub servers (Nest on Express), each its own process, while
// the benchmark's client process holds the streams on instance B. The measurements are
// bench/lib/across.js's, the ones bench/redis.js makes:
//   publishing  broadcasts/s from A: bursts of PG_BENCH_BURST (20,000) made in one turn,
//               until every promise resolved
//   throughput  the same bursts reaching one client on B: broadcasts/s, first send to last arrival
//   latency     single broadcasts from A (PG_BENCH_SINGLES, 200, per transport): send →
//               arrival at the first and the last of PG_BENCH_CLIENTS (1,000) clients on B, p50/p99
// The transports take turns, in an order that rotates every round (PG_BENCH_ROUNDS, 7),
// after a warm-up that is not counted (10 single broadcasts, then a burst, each):
// medians of the rounds, percentiles of every single broadcast, and each round's
// PostgreSQL ÷ Redis ratio (lowest–highest).
//
// Neither server is durable by default, and the output says so: Redis runs without
// persistence (no snapshots, no append-only file) and PostgreSQL with fsync=off, as the
// tests run it (commits are not flushed to disk; synchronous_commit is left on, which then
// costs nothing). A third column, "fsync on", runs a second cluster with fsync=on and
// synchronous_commit=on, every commit flushed to this machine's disk (PG_BENCH_DURABLE=0
// leaves it out; it is left out with BENCH_DATABASE_URL, whose own settings are reported).
//
// Env: PG_BENCH_QUICK=1 (a smoke run: 50 clients, 20 singles, bursts of 1,000, 1 round),
// PG_BENCH_CLIENTS, PG_BENCH_SINGLES, PG_BENCH_BURST, PG_BENCH_ROUNDS, PG_BENCH_DURABLE,
// BENCH_DATABASE_URL (a PostgreSQL to use rather than start one; its table is made and
// dropped), BENCH_RESULTS_DIR (where postgres.json and postgres.md go, default bench/results),
// BENCH_LIBRARY (a checkout whose dist/ the hub servers load, as in bench/run.js; this one by default).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execSync } = require('node:child_process');
const { Client } = require('pg');
const { spawn } = require('./lib/ipc');
const { median, percentile } = require('./lib/stats');
const { startRedis } = require('./lib/redis-server');
const { PostgresCluster } = require('./lib/postgres-server');
const { startPair, Across } = require('./lib/across');
const { intFromEnv } = require('./lib/env');

const QUICK = process.env.PG_BENCH_QUICK === '1';
const GIVEN = process.env.BENCH_DATABASE_URL || undefined;
const config = {
  quick: QUICK,
  clients: intFromEnv('PG_BENCH_CLIENTS', QUICK ? 50 : 1000),
  singles: intFromEnv('PG_BENCH_SINGLES', QUICK ? 20 : 200),
  burst: intFromEnv('PG_BENCH_BURST', QUICK ? 1000 : 20_000),
  rounds: intFromEnv('PG_BENCH_ROUNDS', QUICK ? 1 : 7),
  durable: process.env.PG_BENCH_DURABLE !== '0' && !GIVEN,
  eventBytes: 100,
  resultsDir: path.resolve(process.env.BENCH_RESULTS_DIR || path.join(__dirname, 'results')),
};

/** The environment of a pair's hub servers: this one's, without another run's transport. */
function envWith(vars) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^BENCH_(REDIS|DATABASE)_/.test(name)),
  );
  return { ...env, ...vars };
}

/** What a PostgreSQL server says of itself, and of how durable its commits are. */
async function describePostgres(url) {
  const client = new Client({ connectionString: url, application_name: 'sse-hub-bench' });
  await client.connect();
  try {
    const settings = {};
    for (const name of [
      'server_version',
      'fsync',
      'synchronous_commit',
      'wal_sync_method',
      'full_page_writes',
    ]) {
      settings[name] = (await client.query(`SHOW ${name}`)).rows[0][name];
    }
    return settings;
  } finally {
    await client.end();
  }
}

async function dropTable(url, table) {
  const client = new Client({ connectionString: url, application_name: 'sse-hub-bench' });
  await client.connect();
  try {
    // What the transport makes (its presence tables too), in public, under this run's own name.
    await client.query(
      `DROP TABLE IF EXISTS "${table}", "${table}_presence", "${table}_instances"; DROP SEQUENCE IF EXISTS "${table}_position"; DROP FUNCTION IF EXISTS "${table}_commit"() CASCADE`,
    );
  } finally {
    await client.end();
  }
}

/** The commit whose dist/ the hub servers load (BENCH_LIBRARY's checkout, else this one). */
function gitDescription() {
  const cwd = process.env.BENCH_LIBRARY || path.join(__dirname, '..');
  try {
    const head = execSync('git rev-parse --short=12 HEAD', {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dirty = execSync('git status --porcelain -- src', {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return dirty ? `${head} plus uncommitted changes to src/` : head;
  } catch {
    return 'unknown';
  }
}

async function main() {
  const startedAt = Date.now();
  const table = `bench_${startedAt}`;
  const stops = [];
  const client = spawn(path.join(__dirname, 'client.js'), { name: 'client' });
  stops.push(() => client.stop());
  try {
    const redis = await startRedis();
    stops.push(() => redis.stop());
    const transports = [
      {
        name: 'redis',
        label: 'Redis',
        env: envWith({ BENCH_REDIS_URL: redis.url, BENCH_REDIS_STREAM: `bench-${startedAt}` }),
        server: { version: redis.version, persistence: 'off (no RDB snapshots, no append-only file)' },
      },
    ];

    let pgUrl = GIVEN;
    if (!pgUrl) {
      const cluster = await PostgresCluster.start();
      stops.push(() => cluster.stop());
      pgUrl = cluster.url;
    } else {
      stops.push(() => dropTable(pgUrl, table));
    }
    const pgSettings = await describePostgres(pgUrl);
    transports.push({
      name: 'postgres',
      label: `PostgreSQL, fsync ${pgSettings.fsync}`,
      env: envWith({ BENCH_DATABASE_URL: pgUrl, BENCH_DATABASE_TABLE: table }),
      server: pgSettings,
    });
    if (config.durable) {
      const durable = await PostgresCluster.start({ settings: { fsync: 'on', synchronous_commit: 'on' } });
      stops.push(() => durable.stop());
      const settings = await describePostgres(durable.url);
      transports.push({
        name: 'postgres-durable',
        label: `PostgreSQL, fsync ${settings.fsync}`,
        env: envWith({ BENCH_DATABASE_URL: durable.url, BENCH_DATABASE_TABLE: table }),
        server: settings,
      });
    }

    const [pairs] = await Promise.all([
      Promise.all(transports.map(({ name, env }) => startPair(name, env))),
      client.ready,
    ]);
    stops.push(() => Promise.all(pairs.map((pair) => pair.stop())));
    const across = new Across(client);
    const latency = await across.latency(pairs, {
      clients: config.clients,
      singles: config.singles,
      rounds: config.rounds,
      warmUp: true,
    });
    const bursts = await across.bursts(pairs, { burst: config.burst, rounds: config.rounds, warmUp: true });

    const results = summarize(transports, latency, bursts, startedAt);
    print(results);
    write(results);
  } finally {
    // In reverse: the hub servers before their transports' servers.
    for (const stop of stops.reverse()) await stop();
  }
}

function summarize(transports, latency, bursts, startedAt) {
  const medians = {};
  const samples = {};
  for (const { name } of transports) {
    const { first, last, rounds } = latency.get(name);
    const { published, spans } = bursts.get(name);
    const throughput = spans.map((span) => config.burst / (span / 1000));
    samples[name] = {
      published,
      throughput,
      spans,
      first,
      last,
      lastP50ByRound: rounds.map((round) => percentile(round.last, 50)),
    };
    medians[name] = {
      publishedPerSec: median(published),
      throughputPerSec: median(throughput),
      firstP50Ms: percentile(first, 50),
      firstP99Ms: percentile(first, 99),
      lastP50Ms: percentile(last, 50),
      lastP99Ms: percentile(last, 99),
    };
  }
  // Each round's PostgreSQL ÷ Redis: how steady the comparison is.
  const ratios = {};
  for (const { name } of transports.slice(1)) {
    const perRound = (key) => samples[name][key].map((value, r) => value / samples.redis[key][r]);
    const range = (values) => ({ min: Math.min(...values), max: Math.max(...values) });
    const of = (key) => medians[name][key] / medians.redis[key];
    ratios[name] = {
      publishedPerSec: { ratio: of('publishedPerSec'), perRound: range(perRound('published')) },
      throughputPerSec: { ratio: of('throughputPerSec'), perRound: range(perRound('throughput')) },
      firstP50Ms: { ratio: of('firstP50Ms') },
      firstP99Ms: { ratio: of('firstP99Ms') },
      lastP50Ms: { ratio: of('lastP50Ms'), perRound: range(perRound('lastP50ByRound')) },
      lastP99Ms: { ratio: of('lastP99Ms') },
    };
  }
  const cpus = os.cpus();
  return {
    config,
    machine: {
      cpus: cpus.length,
      model: cpus[0]?.model,
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      date: new Date(startedAt).toISOString(),
      wallSeconds: (Date.now() - startedAt) / 1000,
    },
    library: gitDescription(),
    transports: transports.map(({ name, label, server }) => ({ name, label, server })),
    medians,
    ratios,
    samples,
  };
}

const rate = (value) => Math.round(value).toLocaleString('en-US');
const ms = (value) => value.toFixed(1);
const times = (value) => `${value.toFixed(2)}×`;
const span = ({ min, max }) => `${min.toFixed(2)}–${max.toFixed(2)}×`;

/** The table, in Markdown: a column per transport, and each PostgreSQL's ratio to Redis. */
function table({ config: c, transports, medians, ratios }) {
  const pg = transports.slice(1);
  const head = ['', ...transports.flatMap((t, i) => (i === 0 ? [t.label] : [t.label, '÷ Redis (rounds)']))];
  const row = (label, value, ratio) => [
    label,
    value(medians.redis),
    ...pg.flatMap((t) => [value(medians[t.name]), ratio(ratios[t.name])]),
  ];
  const rows = [
    row(
      `publishing from A, broadcasts/s (bursts of ${rate(c.burst)})`,
      (m) => rate(m.publishedPerSec),
      (r) => `${times(r.publishedPerSec.ratio)} (${span(r.publishedPerSec.perRound)})`,
    ),
    row(
      `the bursts reaching one client on B, broadcasts/s`,
      (m) => rate(m.throughputPerSec),
      (r) => `${times(r.throughputPerSec.ratio)} (${span(r.throughputPerSec.perRound)})`,
    ),
    row(
      `A → ${rate(c.clients)} clients on B, first client p50 / p99 (ms)`,
      (m) => `${ms(m.firstP50Ms)} / ${ms(m.firstP99Ms)}`,
      (r) => `${times(r.firstP50Ms.ratio)} / ${times(r.firstP99Ms.ratio)}`,
    ),
    row(
      `A → ${rate(c.clients)} clients on B, last client p50 / p99 (ms)`,
      (m) => `${ms(m.lastP50Ms)} / ${ms(m.lastP99Ms)}`,
      (r) => `${times(r.lastP50Ms.ratio)} / ${times(r.lastP99Ms.ratio)} (p50: ${span(r.lastP50Ms.perRound)})`,
    ),
  ];
  return [head, head.map((_, i) => (i === 0 ? '---' : '--:')), ...rows]
    .map((cells) => `| ${cells.join(' | ')} |`)
    .join('\n');
}

/** What the servers were, in words: neither durable unless said. */
function servers({ transports }) {
  return transports.map(({ label, server }) => {
    if (!server.server_version)
      return `- ${label}: Redis ${server.version ?? ''}, persistence ${server.persistence}: not durable.`;
    const durable = server.fsync === 'on' && server.synchronous_commit !== 'off';
    const flush = durable
      ? `every commit is flushed to disk before it returns (wal_sync_method=${server.wal_sync_method})`
      : server.fsync === 'off'
        ? 'nothing is flushed to disk, as in the tests: not durable, like Redis here'
        : 'commits return before their WAL is flushed';
    return `- ${label}: PostgreSQL ${server.server_version}, fsync=${server.fsync}, synchronous_commit=${server.synchronous_commit}: ${flush}.`;
  });
}

function print(results) {
  const { config: c, machine: m } = results;
  console.log(
    `Across 2 instances (Nest/Express) on each transport, ${m.cpus} CPUs, Node ${m.node}; ${c.rounds} round(s), transports taking turns`,
  );
  for (const line of servers(results)) console.log(line);
  console.log(table(results));
  console.log(
    `${c.singles} single broadcasts per transport (percentiles of all), bursts: medians of ${c.rounds}; ÷ Redis above 1 is better for broadcasts/s, below 1 for latency. Wall time ${m.wallSeconds.toFixed(1)} s.`,
  );
}

function write(results) {
  fs.mkdirSync(config.resultsDir, { recursive: true });
  fs.writeFileSync(path.join(config.resultsDir, 'postgres.json'), JSON.stringify(results, null, 2) + '\n');
  const { config: c, machine: m } = results;
  const md = [
    '# PostgreSQL against Redis, across instances',
    '',
    `\`npm run bench:postgres\`: two hub instances (Nest on Express, each its own process) per transport, A broadcasting and B holding the clients, all transports in the same run, taking turns in an order that rotates every round, after a warm-up that is not counted. ${c.rounds} round(s); bursts of ${rate(c.burst)} broadcasts made in one turn (medians of the rounds); ${c.singles} single broadcasts per transport to ${rate(c.clients)} clients (percentiles of all). ${m.cpus} CPUs (${m.model}), Node ${m.node}, ${m.platform}, ${m.date}; wall time ${m.wallSeconds.toFixed(1)} s. Library at ${results.library}.`,
    '',
    ...servers(results),
    '',
    table(results),
    '',
    "Ratios are PostgreSQL ÷ Redis: above 1 is better for broadcasts/s, below 1 for latency; in brackets, the lowest and highest of the rounds' ratios.",
    '',
  ].join('\n');
  fs.writeFileSync(path.join(config.resultsDir, 'postgres.md'), md);
  console.log(`Results: ${path.join(config.resultsDir, 'postgres.md')} and postgres.json`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
