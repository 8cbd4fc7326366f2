// Resumable runs (npm run bench:runs): BENCH_RUNS (1,000) runs at once, each producing
// BENCH_RUN_TOKENS (500) small string tokens, one every BENCH_RUN_DELAY_MS (10) ms, read by
// 2 readers each: the POST that starts the run and a GET that joins it. Against a baseline
// in the same run: a plain (not resumable) route producing the same tokens the same way,
// read by as many readers, each with its own producer (what serving a second tab costs
// without runs: the handler runs twice). The server is bench/servers/runs.js (Nest on
// Express, dist/ build, each instance its own process); the readers are bench/runs-client.js.
//
// Scenarios (BENCH_RUNS_SCENARIOS, default "one,two"):
//   one   one instance, runs in process: both readers on it
//   two   two instances on one Redis (a redis-server of its own, no persistence): the POST on
//         A, the joining GET on B (plain: one GET on A, one on B); skipped, and said so,
//         when redis-server is not installed
//
// Each scenario runs BENCH_RUNS_ROUNDS (1: a pass delivers a million tokens, which takes
// this 2-core machine half a minute or more) rounds of a plain pass and a resumable pass,
// in an order that alternates. Every pass starts fresh server processes and warms them up
// (BENCH_RUNS_WARM runs of 50 tokens, 1 ms apart, not counted).
//   tokens/s    tokens delivered to all readers ÷ (first token produced → last one received);
//               with the CPU time the servers and the readers spent per 1,000 tokens
//   latency     per token, receive − produce (each token carries its production time; a
//               token produced before its reader's response head arrived, as a joining GET
//               gets the run's start, counts from the head): p50, p99 of every token of the
//               pass; "added" is resumable − plain, in the same round. Apart: request → head.
//   memory      the servers' RSS and heap used after a full GC (started with --expose-gc),
//               minus the same after the warm-up, ÷ runs: when half of all tokens were
//               delivered (every run under way), and once every run ended; on Redis also
//               Redis's used_memory. The GC stops a server for a moment mid-pass, in both
//               routes' passes alike, and its latencies count it.
//   checks      every reader got every token once, in order, then the end of its stream; a
//               failed check fails the run (exit code 1), after the results are written.
//
// Medians of the rounds. Env: BENCH_RUNS, BENCH_RUN_TOKENS, BENCH_RUN_DELAY_MS,
// BENCH_RUNS_ROUNDS, BENCH_RUNS_WARM (200), BENCH_RUNS_SCENARIOS, BENCH_RESULTS_DIR (where
// runs.json and runs.md go, default bench/results), BENCH_SERVER_EXEC_ARGV (extra node flags
// for the servers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, execSync } = require('node:child_process');
const { createClient } = require('redis');
const { spawn } = require('./lib/ipc');
const { now, sleep } = require('./lib/clock');
const { median } = require('./lib/stats');
const { intFromEnv } = require('./lib/env');
const { startRedis } = require('./lib/redis-server');

const config = {
  runs: intFromEnv('BENCH_RUNS', 1000),
  tokens: intFromEnv('BENCH_RUN_TOKENS', 500),
  delayMs: intFromEnv('BENCH_RUN_DELAY_MS', 10),
  rounds: intFromEnv('BENCH_RUNS_ROUNDS', 1),
  warmRuns: intFromEnv('BENCH_RUNS_WARM', 200),
  scenarios: (process.env.BENCH_RUNS_SCENARIOS || 'one,two').split(',').map((name) => name.trim()),
  resultsDir: path.resolve(process.env.BENCH_RESULTS_DIR || path.join(__dirname, 'results')),
};
const WARM = { tokens: 50, delayMs: 1 };
const SCENARIOS = {
  one: { label: 'one instance, in process', instances: 1 },
  two: { label: 'two instances on one Redis', instances: 2, redis: true },
};
const ROUTES = ['plain', 'runs'];
const SERVER = path.join(__dirname, 'servers', 'runs.js');
// As in bench/run.js, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
const EXTRA_ARGV = (process.env.BENCH_SERVER_EXEC_ARGV || '').split(' ').filter(Boolean);

const log = (line) => process.stdout.write(`${line}\n`);
const fmt = (n, digits = 0) =>
  n === null || n === undefined || Number.isNaN(n)
    ? 'n/a'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const kib = (bytes) => fmt(bytes / 1024, 1);

let client;
let passes = 0;

/** Fresh server processes for one pass: one, or two on `redis` (a stream of the pass's own). */
async function startServers(scenario, redis) {
  const env = redis
    ? { ...process.env, BENCH_REDIS_URL: redis.url, BENCH_REDIS_STREAM: `bench-runs-${Date.now()}-${passes}` }
    : process.env;
  const names = scenario.instances === 1 ? ['a'] : ['a', 'b'];
  const servers = names.map((name) =>
    spawn(SERVER, { execArgv: ['--expose-gc', ...EXTRA_ARGV], env, name: `runs ${name}` }),
  );
  const stop = () => Promise.all(servers.map((server) => server.stop()));
  try {
    const ports = (await Promise.all(servers.map((server) => server.ready))).map((ready) => ready.port);
    return { servers, a: ports[0], b: ports[ports.length - 1], stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Readers on `route` for `count` new runs of `tokens` tokens; resolves with the client's
 * tally. `held`: every reader is opened before the servers let the producers start.
 */
async function read(ctx, route, count, { tokens, delayMs }, { onHalf, held = false } = {}) {
  const prefix = `p${passes}-${Date.now().toString(36)}`;
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  // Generous: a loaded machine stretches a run well past its tokens' own pace.
  const timeoutMs = 60_000 + tokens * delayMs * 20;
  await client.ask('open', { route, a: ctx.a, b: ctx.b, ids, tokens, delay: delayMs, held }, timeoutMs);
  if (held) await Promise.all(ctx.servers.map((server) => server.ask('go')));
  const half = onHalf && (await client.ask('half', { timeoutMs }, timeoutMs + 10_000));
  const mid = onHalf && (await onHalf(half));
  const got = await client.ask('finish', { timeoutMs }, timeoutMs + 10_000);
  return { ...got, mid };
}

/** CPU time the servers used so far (user + system), summed, in ms. */
async function serversCpu(ctx) {
  const answers = await Promise.all(ctx.servers.map((server) => server.ask('cpu')));
  return answers.reduce((total, answer) => total + answer.cpuMs, 0);
}

/** The servers' memory after a full GC, summed, with Redis's used_memory; and their runs. */
async function sample(ctx, redisClient) {
  const answers = await Promise.all(
    // Runs counted first: the GC that follows takes a moment, in which a short run may end.
    ctx.servers.map(async (server) => ({ runs: await server.ask('runs'), ...(await server.ask('rss')) })),
  );
  if (answers.some((answer) => !answer.gc)) throw new Error('the servers run without --expose-gc');
  const sum = (pick) => answers.reduce((total, answer) => total + pick(answer), 0);
  return {
    rss: sum((answer) => answer.rss),
    heapUsed: sum((answer) => answer.heapUsed),
    activeRuns: sum((answer) => answer.runs.active ?? 0),
    redisUsed: redisClient ? await redisUsedMemory(redisClient) : undefined,
  };
}

/** CPU time Redis used so far (user + system, its main thread and children), in ms. */
async function redisCpu(redisClient) {
  const info = await redisClient.sendCommand(['INFO', 'cpu']);
  const seconds = [...info.matchAll(/used_cpu_(?:sys|user)(?:_children)?:([\d.]+)/g)];
  return seconds.reduce((total, [, value]) => total + Number(value) * 1000, 0);
}

async function redisUsedMemory(redisClient) {
  const info = await redisClient.sendCommand(['INFO', 'memory']);
  return Number(/used_memory:(\d+)/.exec(info)[1]);
}

/** Until no server produces a run: every run's end is stored. */
async function runsEnded(ctx) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const active = await Promise.all(ctx.servers.map(async (server) => (await server.ask('runs')).active));
    if (active.every((count) => count === 0)) return;
    if (Date.now() > deadline) throw new Error(`runs still active after their readers ended: ${active}`);
    await sleep(50);
  }
}

/**
 * One pass of `route` on fresh servers: a warm-up, then config.runs runs; the servers'
 * memory after the warm-up, when half of the tokens were delivered, and after every run ended.
 */
async function pass(scenario, route, redis, failures, tag) {
  passes++;
  const redisClient = redis && (await createClient({ url: redis.url }).connect());
  const ctx = await startServers(scenario, redis);
  try {
    const warm = await read(ctx, route, config.warmRuns, WARM);
    check(warm, `${tag} warm-up`, failures);
    await runsEnded(ctx);
    const base = await sample(ctx, redisClient);
    const cpuBefore = await serversCpu(ctx);
    const redisCpuBefore = redisClient && (await redisCpu(redisClient));
    const onHalf = () => sample(ctx, redisClient);
    const got = await read(ctx, route, config.runs, config, { onHalf, held: true });
    got.serverCpuMs = (await serversCpu(ctx)) - cpuBefore;
    got.redisCpuMs = redisClient ? (await redisCpu(redisClient)) - redisCpuBefore : undefined;
    check(got, tag, failures);
    await runsEnded(ctx);
    const after = await sample(ctx, redisClient);
    return { ...got, memory: { base, mid: got.mid, after } };
  } finally {
    await ctx.stop();
    if (redisClient) {
      // The next pass starts from an empty Redis, as from fresh servers.
      await redisClient.sendCommand(['FLUSHALL']);
      await redisClient.close();
    }
  }
}

function check(got, tag, failures) {
  const complete = got.failureCount === 0 && got.delivered === got.expected;
  if (!complete) {
    const tokens = `${got.delivered} of ${got.expected} tokens delivered`;
    failures.push(
      `${tag}: ${got.failureCount} of ${got.readers} readers failed, ${tokens}; ${got.failures.join('; ')}`,
    );
  }
}

function perRun(memory, key, at) {
  if (memory[at][key] === undefined) return null;
  return (memory[at][key] - memory.base[key]) / config.runs;
}

function hasRedis() {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A pass's tokens/s, latency and CPU, in a line. */
function describeSpeed(got, redis) {
  const ms = (value) => `${fmt(value, 1)} ms`;
  const per1000 = (cpuMs) => ms((cpuMs / got.delivered) * 1000);
  return [
    `${fmt(got.tokensPerSec)} tokens/s in ${fmt(got.spanMs / 1000, 1)} s;`,
    `latency p50 ${ms(got.latencyMs?.p50)}, p99 ${ms(got.latencyMs?.p99)}`,
    `(p99 by reader: ${ms(got.firstReaderLatencyMs?.p99)}, ${ms(got.secondReaderLatencyMs?.p99)};`,
    `request → head p99 ${ms(got.openMs[0]?.p99)}, ${ms(got.openMs[1]?.p99)});`,
    `CPU per 1,000 tokens: servers ${per1000(got.serverCpuMs)}, readers ${per1000(got.cpuMs)}`,
    ...(redis ? [`, Redis ${per1000(got.redisCpuMs)}`] : []),
    `; ${got.delivered}/${got.expected} tokens, ${got.failureCount} readers failed`,
  ]
    .join(' ')
    .replace(/ ([,;])/g, '$1');
}

/** A pass's memory per run, in a line. */
function describeMemory(m, redis) {
  const of = (key, at) => `${kib(perRun(m, key, at))} KiB`;
  return [
    `${m.mid.activeRuns} runs active at the midway sample; per run:`,
    `RSS ${of('rss', 'mid')}, heap used ${of('heapUsed', 'mid')} running;`,
    `RSS ${of('rss', 'after')}, heap used ${of('heapUsed', 'after')} after`,
    ...(redis ? [`; Redis ${of('redisUsed', 'mid')} / ${of('redisUsed', 'after')}`] : []),
  ]
    .join(' ')
    .replace(/ ;/g, ';');
}

async function runScenario(name, failures) {
  const scenario = SCENARIOS[name];
  const redis = scenario.redis ? await startRedis() : undefined;
  const rounds = { plain: [], runs: [] };
  try {
    for (let round = 0; round < config.rounds; round++) {
      for (const route of round % 2 ? [...ROUTES].reverse() : ROUTES) {
        const tag = `[${name} ${round + 1}/${config.rounds}] ${route.padEnd(5)}`;
        const got = await pass(scenario, route, redis, failures, tag);
        rounds[route].push(got);
        log(`${tag} ${describeSpeed(got, redis)}`);
        log(`${tag} ${describeMemory(got.memory, redis)}`);
      }
    }
  } finally {
    redis?.stop();
  }
  return { name, label: scenario.label, redis: redis && { version: redis.version }, rounds };
}

/** Medians of the rounds per route, the added latency (resumable − plain, per round), memory per run. */
function summarize(scenario) {
  const { rounds } = scenario;
  const routes = {};
  for (const route of ROUTES) {
    const of = (pick) => median(rounds[route].map(pick));
    const memory = (key, at) => of((got) => perRun(got.memory, key, at));
    routes[route] = {
      tokensPerSec: of((got) => got.tokensPerSec),
      spanMs: of((got) => got.spanMs),
      p50Ms: of((got) => got.latencyMs?.p50),
      p99Ms: of((got) => got.latencyMs?.p99),
      firstReaderP99Ms: of((got) => got.firstReaderLatencyMs?.p99),
      secondReaderP99Ms: of((got) => got.secondReaderLatencyMs?.p99),
      serverCpuMsPer1000: of((got) => (got.serverCpuMs / got.delivered) * 1000),
      readersCpuMsPer1000: of((got) => (got.cpuMs / got.delivered) * 1000),
      redisCpuMsPer1000: of((got) => (got.redisCpuMs / got.delivered) * 1000),
      memoryPerRun: {
        rssRunning: memory('rss', 'mid'),
        heapUsedRunning: memory('heapUsed', 'mid'),
        rssAfter: memory('rss', 'after'),
        heapUsedAfter: memory('heapUsed', 'after'),
        redisRunning: memory('redisUsed', 'mid'),
        redisAfter: memory('redisUsed', 'after'),
      },
    };
  }
  const added = (key) =>
    median(rounds.runs.map((got, r) => got.latencyMs?.[key] - rounds.plain[r]?.latencyMs?.[key]));
  return { routes, addedP50Ms: added('p50'), addedP99Ms: added('p99') };
}

const COLUMNS = [
  'scenario',
  'route',
  'tokens/s delivered',
  'took (s)',
  'latency p50 / p99 (ms)',
  'p99 1st / 2nd reader (ms)',
  'added vs plain p50 / p99 (ms)',
  'CPU per 1,000 tokens: servers / readers / Redis (ms)',
  'per run running: RSS / heap used (KiB)',
  'per run after: RSS / heap used (KiB)',
  'Redis per run: running / after (KiB)',
];

function table(results) {
  const offered = (2 * config.runs * 1000) / config.delayMs;
  const lines = [`| ${COLUMNS.join(' | ')} |`, `| --- | --- |${' ---: |'.repeat(COLUMNS.length - 2)}`];
  for (const scenario of results.scenarios) {
    if (scenario.skipped) {
      lines.push(`| ${scenario.label} | skipped: ${scenario.skipped} |${' |'.repeat(COLUMNS.length - 2)}`);
      continue;
    }
    for (const route of ROUTES) {
      const r = scenario.summary.routes[route];
      const m = r.memoryPerRun;
      const { addedP50Ms, addedP99Ms } = scenario.summary;
      const cells = [
        scenario.label,
        route === 'runs' ? 'resumable' : 'plain',
        fmt(r.tokensPerSec),
        fmt(r.spanMs / 1000, 1),
        `${fmt(r.p50Ms, 1)} / ${fmt(r.p99Ms, 1)}`,
        `${fmt(r.firstReaderP99Ms, 1)} / ${fmt(r.secondReaderP99Ms, 1)}`,
        route === 'runs' ? `${fmt(addedP50Ms, 1)} / ${fmt(addedP99Ms, 1)}` : '',
        [r.serverCpuMsPer1000, r.readersCpuMsPer1000, ...(scenario.redis ? [r.redisCpuMsPer1000] : [])]
          .map((ms) => fmt(ms, 1))
          .join(' / '),
        `${kib(m.rssRunning)} / ${kib(m.heapUsedRunning)}`,
        `${kib(m.rssAfter)} / ${kib(m.heapUsedAfter)}`,
        scenario.redis ? `${kib(m.redisRunning)} / ${kib(m.redisAfter)}` : '',
      ];
      lines.push(`| ${cells.join(' | ')} |`);
    }
  }
  return { lines, offered };
}

function write(results) {
  fs.mkdirSync(config.resultsDir, { recursive: true });
  fs.writeFileSync(path.join(config.resultsDir, 'runs.json'), JSON.stringify(results, null, 2) + '\n');
  const { machine: m } = results;
  const { lines, offered } = table(results);
  const md = [
    '# Resumable runs',
    '',
    [
      `\`npm run bench:runs\`: ${fmt(config.runs)} runs at once of ${fmt(config.tokens)} tokens,`,
      `one every ${config.delayMs} ms, 2 readers each (the POST that starts the run, a GET that joins it),`,
      'against a plain route producing the same tokens for each of as many readers.',
      `Offered: ${fmt(offered)} tokens/s to all readers, a run's own pace`,
      `${fmt((config.tokens * config.delayMs) / 1000, 1)} s.`,
      `Medians of ${config.rounds} round(s), each a pass of each route on fresh servers.`,
      `${m.cpus} CPUs (${m.model}), Node ${m.node}, ${m.platform}, ${m.date};`,
      `load average (1 min) ${fmt(m.loadAverage.start, 1)} at the start, ${fmt(m.loadAverage.end, 1)} at the end;`,
      `wall time ${fmt(results.wallSeconds, 1)} s. Library at ${results.library}.`,
    ].join(' '),
    '',
    ...lines,
    '',
    [
      'Latency: receive − produce per token (a token produced before the response head of its reader',
      'arrived counts from the head), p50 / p99 of every token of a pass; the 1st reader is the POST',
      '(plain: the GET on A), the 2nd the joining GET (on B across instances); "added" is resumable − plain',
      'in the same round. Memory: RSS and heap used of the server process(es) after a full GC, minus the',
      'same after the warm-up, ÷ runs; running: when half of all tokens were delivered; after: once every',
      'run ended (a plain "run" is its two streams). Redis: its used_memory, the same way.',
    ].join(' '),
    ...(results.failures.length > 0
      ? ['', `**${results.failures.length} check(s) failed:**`, '', ...results.failures.map((f) => `- ${f}`)]
      : []),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(config.resultsDir, 'runs.md'), md);
  return [path.join(config.resultsDir, 'runs.md'), path.join(config.resultsDir, 'runs.json')];
}

/** The commit whose dist/ the servers load, and whether src/ differs from it. */
function gitDescription() {
  const cwd = path.join(__dirname, '..');
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
  const started = now();
  // Other work on the machine weighs on every figure: said beside them.
  const loadAtStart = os.loadavg()[0];
  for (const name of config.scenarios)
    if (!SCENARIOS[name]) throw new Error(`BENCH_RUNS_SCENARIOS: unknown scenario "${name}" (one, two)`);
  const failures = [];
  const scenarios = [];
  client = spawn(path.join(__dirname, 'runs-client.js'), { name: 'readers' });
  try {
    await client.ready;
    for (const name of config.scenarios) {
      if (SCENARIOS[name].redis && !hasRedis()) {
        const skipped = 'redis-server is not installed';
        log(`[${name}] skipped: ${skipped} (apt-get install redis-server)`);
        scenarios.push({ name, label: SCENARIOS[name].label, skipped });
        continue;
      }
      const scenario = await runScenario(name, failures);
      scenarios.push({ ...scenario, summary: summarize(scenario) });
    }
  } finally {
    await client.stop();
  }
  const cpus = os.cpus();
  const results = {
    config: { ...config, resultsDir: undefined, warm: { runs: config.warmRuns, ...WARM } },
    machine: {
      cpus: cpus.length,
      model: cpus[0]?.model,
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      totalMemory: os.totalmem(),
      date: new Date().toISOString(),
      loadAverage: { start: loadAtStart, end: os.loadavg()[0] },
    },
    library: gitDescription(),
    wallSeconds: (now() - started) / 1000,
    failures,
    scenarios,
  };
  const files = write(results);
  log('');
  for (const line of table(results).lines) log(line);
  log(`\nwall time ${fmt(results.wallSeconds, 1)} s; results in ${files.join(', ')}`);
  if (failures.length > 0) {
    log(`\n${failures.length} check(s) failed:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
  client?.stop();
});
