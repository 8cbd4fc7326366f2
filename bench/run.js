// Fan-out benchmark: the same SSE broadcasts through ten servers, each in a process of
// its own, measured by one client process. Run: npm run bench (builds dist/ first).
// `hub-metrics` and `hub-fastify-metrics` are `hub` and `hub-fastify` with the library's
// metrics going to a real OpenTelemetry SDK with a reader; `hub` and `hub-fastify` run
// with metrics off, so each pair shows what metrics cost, in the same rounds.
//
//   burst   N clients, 20 broadcasts back to back        → deliveries/s
//   single  N clients, 50 broadcasts ~20 ms apart         → send → last client latency p50/p99
//   memory  RSS and heap used per open stream at 1k, 5k, 10k, 18k clients (a fresh server per round)
//   heap    a heap snapshot at 0 and at 2k streams (a fresh server): heap per stream by owner
//
// `net-floor` (a bare `net` server) is the floor under every server. `hub-channel` and
// `hub-presence` (each stream in a channel, and with presence info) run only in the memory
// and heap modes: against `hub`, what one joined channel and one presence entry cost.
//
// Environment: BENCH_QUICK=1 (200 clients, 1 round, memory and snapshot at 200: a CI smoke run),
// BENCH_CLIENTS, BENCH_ROUNDS, BENCH_MEMORY_ROUNDS, BENCH_MEMORY_POINTS (e.g. "1000,5000"),
// BENCH_SNAPSHOT_STREAMS (default 2000), BENCH_WARM_STREAMS (streams opened and dropped before a
// memory baseline, default 2000), BENCH_MODES (default "burst,single,memory,heap"),
// BENCH_SERVERS (e.g. "raw,hub"; the control "raw-close" runs only when named),
// BENCH_BASELINE (a checkout of another commit with its dist/ built: each hub server without
// metrics also runs on that build, as "<name>@base", in the same rounds, for a before/after),
// BENCH_RESULTS_DIR (default bench/results),
// BENCH_SERVER_EXEC_ARGV (extra node flags for the servers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execSync } = require('node:child_process');
const { spawn } = require('./lib/ipc');
const { now, sleep } = require('./lib/clock');
const { padFor } = require('./lib/event');
const { percentile } = require('./lib/stats');
const { summarize, printSummary, writeResults } = require('./report');
const { intFromEnv } = require('./lib/env');

const ROOT = path.join(__dirname, '..');
// nest-raw, a bare Nest route on Express that only holds its response, is the floor for anything on Nest.
const DEFAULT_SERVERS = [
  'raw',
  'net-floor',
  'hub',
  'hub-metrics',
  'hub-fastify',
  'hub-fastify-metrics',
  'nest-sse',
  'better-sse',
  'sse-channel',
  'nest-raw',
];
// Servers measured for memory only (memory and heap modes): they differ from `hub` in what
// each stream holds, not in how it is written to. In the run unless BENCH_SERVERS leaves them out.
const MEMORY_ONLY_SERVERS = ['hub-channel', 'hub-presence'];
// A control that only runs when named in BENCH_SERVERS.
const KNOWN_SERVERS = [...DEFAULT_SERVERS, ...MEMORY_ONLY_SERVERS, 'raw-close'];
const MODES = ['burst', 'single', 'memory', 'heap'];
// The servers BENCH_BASELINE runs again on another build (the metrics variants need this one).
const BASELINE_SERVERS = ['hub', 'hub-fastify'];
const BASE = '@base';

/** Whether `name` runs in the burst and single modes (a memory-only server does not). */
function isSpeedServer(name) {
  return !MEMORY_ONLY_SERVERS.includes(name);
}

function listFromEnv(name, fallback) {
  const value = process.env[name];
  return value
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
    : fallback;
}

const QUICK = process.env.BENCH_QUICK === '1';
const config = {
  quick: QUICK,
  clients: intFromEnv('BENCH_CLIENTS', QUICK ? 200 : 10_000),
  rounds: intFromEnv('BENCH_ROUNDS', QUICK ? 1 : 5),
  memoryRounds: intFromEnv('BENCH_MEMORY_ROUNDS', QUICK ? 1 : 3),
  // Up to 18,000: with FD_HEADROOM, as many streams as fit an open-file limit of 20,000.
  memoryPoints: listFromEnv('BENCH_MEMORY_POINTS', QUICK ? ['200'] : ['1000', '5000', '10000', '18000']).map(
    (n) => {
      if (!/^[1-9][0-9]*$/.test(n))
        throw new Error(`BENCH_MEMORY_POINTS must be positive integers, got "${n}"`);
      return Number(n);
    },
  ),
  // Smaller than the memory points: a snapshot of 2,000 streams is tens of MB, parsed in the server.
  snapshotStreams: intFromEnv('BENCH_SNAPSHOT_STREAMS', QUICK ? 200 : 2000),
  modes: listFromEnv('BENCH_MODES', MODES),
  // Streams opened, sent an event and dropped before a memory baseline is read (see memorySeries).
  warmStreams: intFromEnv('BENCH_WARM_STREAMS', QUICK ? 100 : 2000),
  baseline: process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined,
  servers: listFromEnv('BENCH_SERVERS', [...DEFAULT_SERVERS, ...MEMORY_ONLY_SERVERS]),
  burstSize: 20,
  singles: 50,
  singleGapMs: 20,
  eventBytes: 100,
  resultsDir: path.resolve(process.env.BENCH_RESULTS_DIR || path.join(__dirname, 'results')),
};

/** The soft limit on open files, inherited by every child: sockets count against it. */
function openFilesLimit() {
  try {
    const limit = execSync('ulimit -n', { shell: '/bin/sh', encoding: 'utf8' }).trim();
    return limit === 'unlimited' ? Infinity : Number(limit);
  } catch {
    return NaN;
  }
}

// Room for what a process holds besides its sockets (stdio, IPC, the listener, libuv, epoll).
const FD_HEADROOM = 200;

function fmt(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return 'n/a';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function log(line) {
  process.stdout.write(`${line}\n`);
}

// ---------------------------------------------------------------- processes

let client;
let seq = 1;
const payload = { pad: padFor(config.eventBytes) };

async function startServer(name) {
  // --expose-gc: the rss command collects garbage first, so RSS is what is really held.
  const extra = (process.env.BENCH_SERVER_EXEC_ARGV || '').split(' ').filter(Boolean);
  // "<name>@base" is the same server script on the baseline's build of the library.
  const script = name.endsWith(BASE) ? name.slice(0, -BASE.length) : name;
  const env = script === name ? process.env : { ...process.env, BENCH_LIBRARY: config.baseline };
  const server = spawn(path.join(__dirname, 'servers', `${script}.js`), {
    execArgv: ['--expose-gc', ...extra],
    env,
    name,
  });
  const { port } = await server.ready;
  server.url = `http://127.0.0.1:${port}/events`;
  return server;
}

/** Waits until the server itself counts `n` open streams (opened, or gone after a drop). */
async function waitForCount(server, n, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { count } = await server.ask('count');
    if (count === n) return;
    if (Date.now() > deadline) throw new Error(`${server.name} counts ${count} open streams, expected ${n}`);
    await sleep(20);
  }
}

async function openStreams(server, n) {
  const { open, contentType } = await client.ask('open', { url: server.url, count: n }, 300_000);
  if (open !== n) throw new Error(`client holds ${open} streams, expected ${n}`);
  if (!/^text\/event-stream/.test(contentType ?? ''))
    throw new Error(`${server.name} answered with content-type ${contentType}`);
  await waitForCount(server, n);
}

async function dropStreams(server) {
  await client.ask('drop');
  await waitForCount(server, 0);
}

/**
 * `count` broadcasts to the `n` open streams, timed by the client: resolves with what the
 * client saw per event (t, first and last arrival, copies) and the CPU both sides used.
 */
async function broadcast(server, n, count) {
  const from = seq;
  seq += count;
  const timeoutMs = 30_000 + n * count * 0.05;
  await client.ask('arm', { from, to: from + count - 1, expected: n * count });
  const serverCpu = await server.ask('cpu');
  const sent = await server.ask('broadcast', { count, seq: from, payload }, timeoutMs);
  const got = await client.ask('collect', { timeoutMs }, timeoutMs + 10_000);
  const serverCpuAfter = await server.ask('cpu');
  const firstSend = Math.min(...got.t.filter(Number.isFinite));
  const lastArrival = Math.max(...got.last.filter(Number.isFinite));
  return {
    complete: got.complete,
    received: got.received,
    expected: got.expected,
    firstSend,
    lastArrival,
    t: got.t,
    first: got.first,
    last: got.last,
    // How long the server's synchronous broadcast loop (and, for the hub, its promises) took.
    serverLoopMs: sent.at - firstSend,
    serverCpuMs: serverCpuAfter.cpuMs - serverCpu.cpuMs,
    clientCpuMs: got.cpuMs,
  };
}

/** One stream, one event: the server answers on /events and delivers what it is told to. */
async function checkServes(server) {
  await openStreams(server, 1);
  const result = await broadcast(server, 1, 1);
  if (!result.complete) throw new Error(`${server.name} did not deliver a broadcast to one client`);
  await dropStreams(server);
}

/**
 * Starts `name` in a process of its own, checks it serves, runs `measure(server)` and
 * stops it; a failure is recorded under `tag` and the run goes on with the next server.
 */
async function withServer(name, tag, failures, measure) {
  let server;
  try {
    server = await startServer(name);
    await checkServes(server);
    await measure(server);
  } catch (error) {
    failures.push(`${tag}: ${error.message}`);
    log(`${tag} FAILED: ${error.stack}`);
    await client.ask('drop').catch(() => {});
  } finally {
    await server?.stop();
  }
}

/**
 * A server with an SDK: the metrics were really recorded during the burst (the library
 * counted every event it wrote), and how many times the reader exported meanwhile.
 */
async function checkRecorded(server, before, b, tag, failures) {
  const after = await server.ask('metrics');
  const sentEvents =
    (after.values['sse.server.sent_events'] ?? 0) - (before.values['sse.server.sent_events'] ?? 0);
  const broadcasts = (after.values['sse.hub.broadcasts'] ?? 0) - (before.values['sse.hub.broadcasts'] ?? 0);
  if (sentEvents !== b.expected || broadcasts !== config.burstSize) {
    failures.push(
      `${tag}: the SDK recorded ${sentEvents} sent events and ${broadcasts} broadcasts, expected ${b.expected} and ${config.burstSize}`,
    );
  }
  return { exports: after.exports - before.exports, intervalMs: after.intervalMs, sentEvents, broadcasts };
}

// ---------------------------------------------------------------- modes

async function burst(server, n) {
  const r = await broadcast(server, n, config.burstSize);
  const seconds = (r.lastArrival - r.firstSend) / 1000;
  return {
    complete: r.complete,
    received: r.received,
    expected: r.expected,
    deliveriesPerSec: r.complete ? r.received / seconds : null,
    spanMs: r.lastArrival - r.firstSend,
    serverLoopMs: r.serverLoopMs,
    serverCpuMs: r.serverCpuMs,
    clientCpuMs: r.clientCpuMs,
  };
}

async function single(server, n) {
  const first = [];
  const last = [];
  const rates = [];
  let incomplete = 0;
  for (let i = 0; i < config.singles; i++) {
    const r = await broadcast(server, n, 1);
    if (!r.complete) incomplete++;
    else {
      first.push(r.first[0] - r.t[0]);
      last.push(r.last[0] - r.t[0]);
      rates.push(n / ((r.last[0] - r.t[0]) / 1000));
    }
    // The next broadcast leaves ~20 ms after this one was fully delivered: no overlap.
    await sleep(config.singleGapMs);
  }
  return {
    complete: incomplete === 0,
    incomplete,
    lastP50Ms: percentile(last, 50),
    lastP99Ms: percentile(last, 99),
    firstP50Ms: percentile(first, 50),
    firstP99Ms: percentile(first, 99),
    deliveriesPerSec: percentile(rates, 50),
    latenciesMs: { first, last },
  };
}

/**
 * RSS per stream at each point, in one fresh server process: streams are only ever added
 * (1k, then 4k more for 5k, ...), so RSS, which rarely shrinks, is never left over from a
 * larger earlier point. Calls `report` after each point.
 */
async function memorySeries(server, points, report) {
  // Warm up first (code loaded and optimized, pools, V8's young generation grown to what the
  // server's allocation rate asks for), so that the baseline holds all but the streams. 100
  // streams were not enough for a Nest app: 2,000 more moved ~37 MB from "per stream" to the
  // baseline of the hub (its new space doubling, optimized code), and ~20 MB for raw http.
  const warm = config.warmStreams;
  await openStreams(server, warm);
  await broadcast(server, warm, 1);
  await dropStreams(server);
  const empty = await server.ask('rss');
  let open = 0;
  for (const n of points) {
    await client.ask('open', { url: server.url, count: n - open }, 300_000);
    open = n;
    await waitForCount(server, n);
    // Every stream has carried one event, as it would in use.
    const r = await broadcast(server, n, 1);
    const full = await server.ask('rss');
    report(n, {
      complete: r.complete,
      clients: n,
      rssEmpty: empty.rss,
      rssOpen: full.rss,
      heapEmpty: empty.heapUsed,
      heapOpen: full.heapUsed,
      heapTotalEmpty: empty.heapTotal,
      heapTotalOpen: full.heapTotal,
      bytesPerStream: (full.rss - empty.rss) / n,
    });
  }
  await dropStreams(server);
}

/** What grew most between two snapshots, per stream: the `top` names (owner, type, constructor). */
function topGrowers(before, after, n, top = 12) {
  const key = (x) => `${x.owner}\t${x.type}\t${x.name}`;
  const was = new Map(before.names.map((x) => [key(x), x]));
  return after.names
    .map((x) => {
      const old = was.get(key(x));
      return {
        owner: x.owner,
        type: x.type,
        name: x.name,
        bytesPerStream: (x.size - (old?.size ?? 0)) / n,
        countPerStream: (x.count - (old?.count ?? 0)) / n,
      };
    })
    .sort((a, b) => b.bytesPerStream - a.bytesPerStream)
    .slice(0, top);
}

/**
 * The heap by owner, per stream: a snapshot of a fresh server at 0 streams (after the same
 * warm-up as the memory series) and one with `n` open streams that each carried an event.
 */
async function heapSeries(server, n) {
  const warm = config.warmStreams;
  await openStreams(server, warm);
  await broadcast(server, warm, 1);
  await dropStreams(server);
  // A snapshot stops the server while it is taken and parsed: seconds, not the usual 2 minutes.
  const before = await server.ask('heapOwners', {}, 600_000);
  await openStreams(server, n);
  const r = await broadcast(server, n, 1);
  const after = await server.ask('heapOwners', {}, 600_000);
  await dropStreams(server);
  const ownersPerStream = {};
  for (const owner of Object.keys(after.owners))
    ownersPerStream[owner] = (after.owners[owner] - (before.owners[owner] ?? 0)) / n;
  const summary = ({ total, nodes, owners, tookMs }) => ({ total, nodes, owners, tookMs });
  return {
    complete: r.complete,
    streams: n,
    totalPerStream: (after.total - before.total) / n,
    ownersPerStream,
    top: topGrowers(before, after, n),
    before: summary(before),
    after: summary(after),
  };
}

// ---------------------------------------------------------------- the run

/** Each round starts with a different server, so that drift over the run hits all alike. */
function order(round, servers = config.servers) {
  const k = round % servers.length;
  return [...servers.slice(k), ...servers.slice(0, k)];
}

async function main() {
  const started = now();
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) {
    console.error('dist/index.js is missing: run `npm run build` first (npm run bench does).');
    process.exit(2);
  }
  for (const name of config.servers)
    if (!KNOWN_SERVERS.includes(name)) throw new Error(`unknown server ${name}`);
  if (config.baseline) {
    if (!fs.existsSync(path.join(config.baseline, 'dist', 'index.js')))
      throw new Error(
        `BENCH_BASELINE: ${config.baseline}/dist/index.js is missing: build that checkout first`,
      );
    // Each right after its own, so that the rotation of the rounds keeps them side by side.
    config.servers = config.servers.flatMap((name) =>
      BASELINE_SERVERS.includes(name) ? [name, `${name}${BASE}`] : [name],
    );
  }

  for (const mode of config.modes)
    if (!MODES.includes(mode)) throw new Error(`unknown mode ${mode} in BENCH_MODES (${MODES.join(', ')})`);
  const runs = (mode) => config.modes.includes(mode);
  // Burst and single need a server that writes; memory-only servers only hold streams.
  const speedServers = runs('burst') || runs('single') ? config.servers.filter(isSpeedServer) : [];

  const limit = openFilesLimit();
  const memoryPoints = [...new Set(runs('memory') ? config.memoryPoints : [])]
    .sort((a, b) => a - b)
    .filter((n) => {
      // Both the server and the client hold one socket per stream.
      const fits = !(n + FD_HEADROOM > limit);
      if (!fits)
        log(`memory point ${n} skipped: open-file limit is ${limit}, a process needs ${n + FD_HEADROOM}`);
      return fits;
    });
  if (speedServers.length && config.clients + FD_HEADROOM > limit)
    throw new Error(`BENCH_CLIENTS=${config.clients} does not fit the open-file limit ${limit}`);
  if (runs('heap') && config.snapshotStreams + FD_HEADROOM > limit)
    throw new Error(
      `BENCH_SNAPSHOT_STREAMS=${config.snapshotStreams} does not fit the open-file limit ${limit}`,
    );

  const samples = { burst: {}, single: {}, memory: {}, heap: {} };
  for (const name of config.servers) {
    samples.burst[name] = [];
    samples.single[name] = [];
    samples.memory[name] = {};
    for (const n of memoryPoints) samples.memory[name][n] = [];
  }
  const failures = [];

  log(`SSE fan-out benchmark: ${config.servers.join(', ')} (modes ${config.modes.join(', ')})`);
  log(
    `${config.clients} clients, ${config.rounds} round(s) of burst (${config.burstSize} broadcasts) and single (${config.singles} broadcasts) for ${speedServers.join(', ') || 'none'}; ` +
      `memory at ${memoryPoints.join(', ')} clients, ${config.memoryRounds} round(s); heap snapshots at ${config.snapshotStreams} streams; ${os.cpus().length} CPUs, Node ${process.version}, open-file limit ${limit}`,
  );

  client = spawn(path.join(__dirname, 'client.js'), { name: 'client' });
  await client.ready;

  try {
    for (let round = 0; round < config.rounds && speedServers.length; round++) {
      for (const name of order(round, speedServers)) {
        const tag = `[round ${round + 1}/${config.rounds}] ${name.padEnd(11)}`;
        await withServer(name, tag, failures, async (server) => {
          const opening = now();
          await openStreams(server, config.clients);
          log(`${tag} open  : ${fmt(config.clients)} streams in ${fmt((now() - opening) / 1000, 1)} s`);
          // Unrecorded: the first burst pays for JIT and lazily grown buffers.
          await burst(server, config.clients);

          if (runs('burst')) {
            const recorded = await server.ask('metrics');
            const b = await burst(server, config.clients);
            if (recorded.values)
              b.metrics = await checkRecorded(server, recorded, b, `${tag} burst`, failures);
            samples.burst[name].push({ round: round + 1, clients: config.clients, ...b });
            if (!b.complete) failures.push(`${tag} burst: ${b.received}/${b.expected} events arrived`);
            log(
              `${tag} burst : ${fmt(b.deliveriesPerSec)} deliveries/s (${fmt(b.spanMs, 1)} ms for ${fmt(b.received)} events; server loop ${fmt(b.serverLoopMs, 1)} ms, CPU server ${fmt(b.serverCpuMs)} ms / client ${fmt(b.clientCpuMs)} ms)`,
            );
            if (b.metrics)
              log(
                `${tag} metrics: ${b.metrics.exports} export(s) of the SDK's reader during the burst; sse.server.sent_events +${fmt(b.metrics.sentEvents)}`,
              );
          }

          if (!runs('single')) return dropStreams(server);
          const s = await single(server, config.clients);
          samples.single[name].push({ round: round + 1, clients: config.clients, ...s });
          if (!s.complete)
            failures.push(
              `${tag} single: ${s.incomplete} of ${config.singles} broadcasts not fully delivered`,
            );
          log(
            `${tag} single: last client p50 ${fmt(s.lastP50Ms, 2)} ms, p99 ${fmt(s.lastP99Ms, 2)} ms; first client p50 ${fmt(s.firstP50Ms, 2)} ms; ${fmt(s.deliveriesPerSec)} deliveries/s`,
          );

          await dropStreams(server);
        });
      }
    }

    for (let round = 0; round < config.memoryRounds && memoryPoints.length; round++) {
      for (const name of order(round)) {
        const tag = `[memory ${round + 1}/${config.memoryRounds}] ${name.padEnd(11)}`;
        // A fresh process per server and round: the baseline is a server that never held streams.
        await withServer(name, tag, failures, async (server) => {
          await memorySeries(server, memoryPoints, (n, m) => {
            samples.memory[name][n].push({ round: round + 1, ...m });
            if (!m.complete) failures.push(`${tag} ${n} clients: the broadcast was not fully delivered`);
            log(
              `${tag} ${String(n).padStart(6)} streams: ${fmt(m.bytesPerStream / 1024, 2)} KiB RSS per stream (RSS ${fmt(m.rssEmpty / 1048576, 1)} → ${fmt(m.rssOpen / 1048576, 1)} MiB; heap used ${fmt((m.heapOpen - m.heapEmpty) / n / 1024, 2)}, heap total ${fmt((m.heapTotalOpen - m.heapTotalEmpty) / n / 1024, 2)} KiB per stream)`,
            );
          });
        });
      }
    }

    for (const name of runs('heap') ? config.servers : []) {
      const tag = `[heap] ${name.padEnd(11)}`;
      await withServer(name, tag, failures, async (server) => {
        const h = await heapSeries(server, config.snapshotStreams);
        samples.heap[name] = h;
        if (!h.complete) failures.push(`${tag}: the broadcast was not fully delivered`);
        const owners = Object.entries(h.ownersPerStream)
          .map(([owner, bytes]) => `${owner} ${fmt(bytes / 1024, 2)}`)
          .join(', ');
        log(
          `${tag} ${fmt(h.streams)} streams: ${fmt(h.totalPerStream / 1024, 2)} KiB of heap per stream in the snapshot (${owners}); snapshot ${fmt(h.after.total / 1048576, 1)} MiB, ${fmt(h.after.tookMs / 1000, 1)} s`,
        );
      });
    }
  } finally {
    await client.stop();
  }

  const durationMs = now() - started;
  const results = {
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      totalMemory: os.totalmem(),
      openFilesLimit: limit,
      date: new Date().toISOString(),
    },
    source: sourceState(ROOT),
    ...(config.baseline && { baseline: { dir: config.baseline, ...sourceState(config.baseline) } }),
    config: { ...config, memoryPoints, speedServers, resultsDir: undefined },
    durationMs,
    failures,
    samples,
    ...summarize(samples, config.servers, memoryPoints),
  };
  const files = writeResults(config.resultsDir, results);
  printSummary(results, log);
  log(`\nwall time ${fmt(durationMs / 1000, 1)} s; results in ${files.join(', ')}`);
  if (failures.length) {
    log(`\n${failures.length} measurement(s) failed:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

/** Which library code was measured (in the checkout at `dir`): the commit, and the source files changed since. */
function sourceState(dir) {
  try {
    const commit = execSync('git rev-parse HEAD', {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dirty = execSync('git status --porcelain -- src', {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\n')
      .filter(Boolean);
    return { commit, uncommittedSrcChanges: dirty };
  } catch {
    return { commit: null, uncommittedSrcChanges: null };
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
  client?.stop();
});
