// Across instances through Redis (npm run bench:redis): a real redis-server, two hub
// servers (Nest on Express, RedisStreamsTransport on one stream), each its own process,
// and the benchmark's client process holding every stream on instance B while instance A
// broadcasts. It measures:
//   latency     one broadcast at a time from A: send → arrival at B's clients (first, last), p50/p99
//   throughput  broadcasts back to back from A to one client on B: entries per second
//               through one stream (XADD on A, XREAD on B, delivery)
// Env: REDIS_BENCH_CLIENTS (default 1000), REDIS_BENCH_SINGLES (200), REDIS_BENCH_BURST (20000).
const path = require('node:path');
const { spawn: spawnChild } = require('node:child_process');
const { createServer } = require('node:net');
const { spawn } = require('./lib/ipc');
const { sleep } = require('./lib/clock');
const { padFor } = require('./lib/event');
const { percentile } = require('./lib/stats');

const CLIENTS = Number(process.env.REDIS_BENCH_CLIENTS || 1000);
const SINGLES = Number(process.env.REDIS_BENCH_SINGLES || 200);
const BURST = Number(process.env.REDIS_BENCH_BURST || 20_000);
const payload = { pad: padFor(100) };

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startRedis() {
  const port = await freePort();
  const child = spawnChild('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk) && output.includes('Ready to accept connections') && resolve());
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

async function main() {
  const redis = await startRedis();
  const env = { ...process.env, BENCH_REDIS_URL: redis.url, BENCH_REDIS_STREAM: `bench-${Date.now()}` };
  const [a, b] = await Promise.all(['a', 'b'].map((name) => spawn(path.join(__dirname, 'servers', 'hub.js'), { env, name: `hub ${name}` })));
  const client = spawn(path.join(__dirname, 'client.js'), { name: 'client' });
  try {
    const [{ port: portB }] = await Promise.all([b.ready, a.ready, client.ready]);
    // The transports read the stream once connected: a first broadcast proves both are live.
    await sleep(500);
    let seq = 1;
    const round = async (n, count, timeoutMs = 120_000) => {
      const from = seq;
      seq += count;
      await client.ask('arm', { from, to: from + count - 1, expected: n * count });
      await a.ask('broadcast', { count, seq: from, payload }, timeoutMs);
      return client.ask('collect', { timeoutMs }, timeoutMs + 10_000);
    };

    await client.ask('open', { url: `http://127.0.0.1:${portB}/events`, count: CLIENTS }, 120_000);
    const first = [];
    const last = [];
    for (let i = 0; i < SINGLES; i++) {
      const got = await round(CLIENTS, 1);
      if (!got.complete) throw new Error(`broadcast ${i} did not reach all ${CLIENTS} clients on B`);
      first.push(got.first[0] - got.t[0]);
      last.push(got.last[0] - got.t[0]);
      await sleep(10);
    }
    await client.ask('drop');

    await client.ask('open', { url: `http://127.0.0.1:${portB}/events`, count: 1 }, 60_000);
    const got = await round(1, BURST);
    if (!got.complete) throw new Error(`only ${got.received} of ${BURST} broadcasts reached B`);
    const span = Math.max(...got.last) - Math.min(...got.t);
    const fmt = (ms) => ms.toFixed(1);
    console.log(`Redis ${redis.url}, 2 instances (Nest/Express), Node ${process.version}`);
    console.log(`latency A → ${CLIENTS} clients on B, ${SINGLES} broadcasts: first client p50 ${fmt(percentile(first, 50))} ms, p99 ${fmt(percentile(first, 99))} ms; last client p50 ${fmt(percentile(last, 50))} ms, p99 ${fmt(percentile(last, 99))} ms`);
    console.log(`throughput through one stream: ${BURST} broadcasts from A reached B in ${fmt(span)} ms = ${Math.round(BURST / (span / 1000)).toLocaleString('en-US')} entries/s`);
  } finally {
    await Promise.all([a, b, client].map((child) => child.stop()));
    redis.stop();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
