// Across instances through Redis (npm run bench:redis): a real redis-server, two hub
// servers (Nest on Express, RedisStreamsTransport on one stream), each its own process,
// and the benchmark's client process holding every stream on instance B while instance A
// broadcasts. It measures:
//   latency     one broadcast at a time from A: send → arrival at B's clients (first, last), p50/p99
//   throughput  broadcasts back to back from A to one client on B: entries per second
//               through one stream (XADD on A, XREAD on B, delivery)
//   publishing  broadcasts/s from A (all of a burst made in one turn, until every
//               promise resolved), against a floor measured in the same run: node-redis
//               pipelining the same XADDs by hand (the most one connection can take);
//               ROUNDS rounds, alternating, medians
//   many        three instances (each its own process) holding REDIS_BENCH_PER (5,000)
//               streams each, and 10 more in a small channel on the first: deliveries/s of
//               a burst of 20 broadcasts from the first to all, and the latency to the last
//               client of single broadcasts, against one instance holding them all alone,
//               in the same run; and how long presence() takes on the first instance, of
//               the channel of 10 and of everyone
// The first three are bench/lib/across.js's, which bench/postgres.js runs for PostgreSQL
// and Redis alike. Redis runs without persistence (no snapshots, no append-only file).
// Env: REDIS_BENCH_CLIENTS (default 1000), REDIS_BENCH_SINGLES (200), REDIS_BENCH_BURST (20000),
//      REDIS_BENCH_ROUNDS (3), REDIS_BENCH_PER (5000).
const path = require('node:path');
const { spawn } = require('./lib/ipc');
const { now, sleep } = require('./lib/clock');
const { percentile } = require('./lib/stats');
const { makeEvent } = require('./lib/event');
const { startRedis } = require('./lib/redis-server');
const { startPair, Across, payload } = require('./lib/across');
const { createClient } = require('redis');

const CLIENTS = Number(process.env.REDIS_BENCH_CLIENTS || 1000);
const SINGLES = Number(process.env.REDIS_BENCH_SINGLES || 200);
const BURST = Number(process.env.REDIS_BENCH_BURST || 20_000);
const ROUNDS = Number(process.env.REDIS_BENCH_ROUNDS || 3);
const PER = Number(process.env.REDIS_BENCH_PER || 5000);
const SMALL = 10;

async function main() {
  const redis = await startRedis();
  const env = { ...process.env, BENCH_REDIS_URL: redis.url, BENCH_REDIS_STREAM: `bench-${Date.now()}` };
  const client = spawn(path.join(__dirname, 'client.js'), { name: 'client' });
  let pair;
  try {
    [pair] = await Promise.all([startPair('redis', env), client.ready]);
    // The latency, throughput and publishing measurements, as bench/postgres.js makes them for every transport.
    const across = new Across(client);
    const { first, last } = (await across.latency([pair], { clients: CLIENTS, singles: SINGLES })).get(
      'redis',
    );
    const floors = { redis: () => pipelinedXadds(redis.url, env.BENCH_REDIS_STREAM + '-floor', BURST) };
    const { spans, published, floor } = (
      await across.bursts([pair], { burst: BURST, rounds: ROUNDS, floors })
    ).get('redis');
    const span = percentile(spans, 50);
    const fmt = (ms) => ms.toFixed(1);
    console.log(`Redis ${redis.url} (no persistence), 2 instances (Nest/Express), Node ${process.version}`);
    console.log(
      `latency A → ${CLIENTS} clients on B, ${SINGLES} broadcasts: first client p50 ${fmt(percentile(first, 50))} ms, p99 ${fmt(percentile(first, 99))} ms; last client p50 ${fmt(percentile(last, 50))} ms, p99 ${fmt(percentile(last, 99))} ms`,
    );
    const rate = (value) => Math.round(value).toLocaleString('en-US');
    console.log(
      `throughput through one stream: ${BURST} broadcasts from A reached B in ${fmt(span)} ms = ${rate(BURST / (span / 1000))} entries/s (median of ${ROUNDS})`,
    );
    const [hub, bare] = [percentile(published, 50), percentile(floor, 50)];
    console.log(
      `publishing from A: ${rate(hub)} broadcasts/s; floor (node-redis pipelining the same XADDs by hand): ${rate(bare)} XADDs/s; ${(hub / bare).toFixed(2)}× the floor (medians of ${ROUNDS})`,
    );
    await pair.stop();
    pair = undefined;
    await many(redis, client, fmt);
  } finally {
    await Promise.all([pair?.stop(), client.stop()]);
    redis.stop();
  }
}

/** Three instances holding PER streams each against one holding them all, on one Redis; presence() timed. */
async function many(redis, client, fmt) {
  const env = {
    ...process.env,
    BENCH_REDIS_URL: redis.url,
    BENCH_REDIS_STREAM: `bench-many-${Date.now()}`,
    BENCH_CHANNELS: '1',
  };
  const start = (name) => spawn(path.join(__dirname, 'servers', 'hub.js'), { env, name });
  const total = 3 * PER + SMALL;
  let seq = 10_000_000;
  // A burst of 20 from `from`, and single broadcasts, to every one of `total` clients.
  const measure = async (from) => {
    const bursts = [];
    const singles = [];
    for (let r = 0; r < ROUNDS; r++) {
      await client.ask('arm', { from: seq, to: seq + 19, expected: 20 * total });
      await from.ask('broadcast', { count: 20, seq, payload }, 120_000);
      seq += 20;
      const burst = await client.ask('collect', { timeoutMs: 120_000 }, 130_000);
      if (!burst.complete) throw new Error(`only ${burst.received} of ${20 * total} deliveries`);
      bursts.push((20 * total) / ((Math.max(...burst.last) - Math.min(...burst.t)) / 1000));
      for (let i = 0; i < 10; i++) {
        await client.ask('arm', { from: seq, to: seq, expected: total });
        await from.ask('broadcast', { count: 1, seq, payload }, 60_000);
        seq += 1;
        const single = await client.ask('collect', { timeoutMs: 60_000 }, 70_000);
        if (!single.complete) throw new Error(`a broadcast reached ${single.received} of ${total} clients`);
        singles.push(single.last[0] - single.t[0]);
        await sleep(20);
      }
    }
    return { burst: percentile(bursts, 50), p50: percentile(singles, 50), p99: percentile(singles, 99) };
  };
  const instances = await Promise.all(['one', 'two', 'three'].map((name) => start(`hub ${name}`)));
  let spread;
  let presence;
  try {
    const ports = (await Promise.all(instances.map((instance) => instance.ready))).map((ready) => ready.port);
    await sleep(500);
    for (const port of ports)
      await client.ask('open', { url: `http://127.0.0.1:${port}/events?ch=big`, count: PER }, 300_000);
    await client.ask('open', { url: `http://127.0.0.1:${ports[0]}/events?ch=small`, count: SMALL }, 60_000);
    spread = await measure(instances[0]);
    const small = await instances[0].ask('presence', { channel: 'small', times: 200 }, 120_000);
    const everyone = await instances[0].ask('presence', { times: 10 }, 120_000);
    if (small.count !== SMALL || everyone.count !== total)
      throw new Error(`presence counted ${small.count} of ${SMALL} and ${everyone.count} of ${total}`);
    presence = { small: small.took, everyone: everyone.took };
    await client.ask('drop');
  } finally {
    await Promise.all(instances.map((instance) => instance.stop()));
  }
  const solo = start('hub alone');
  let alone;
  try {
    const { port } = await solo.ready;
    await sleep(500);
    await client.ask('open', { url: `http://127.0.0.1:${port}/events?ch=big`, count: total }, 300_000);
    alone = await measure(solo);
    await client.ask('drop');
  } finally {
    await solo.stop();
  }
  const rate = (value) => Math.round(value).toLocaleString('en-US');
  console.log(
    `${total} streams, a burst of 20 broadcasts from one instance: 3 instances ${rate(spread.burst)} deliveries/s, 1 instance alone ${rate(alone.burst)} (${(spread.burst / alone.burst).toFixed(2)}×)`,
  );
  console.log(
    `single broadcasts, last of ${total} clients p50 / p99: 3 instances ${fmt(spread.p50)} / ${fmt(spread.p99)} ms, 1 instance alone ${fmt(alone.p50)} / ${fmt(alone.p99)} ms`,
  );
  console.log(
    `presence() on one of 3 instances: a channel of ${SMALL} p50 ${fmt(percentile(presence.small, 50))} ms, p99 ${fmt(percentile(presence.small, 99))} ms; all ${total} p50 ${fmt(percentile(presence.everyone, 50))} ms`,
  );
}

/** The floor: `count` XADDs of the same size on one connection, pipelined by node-redis, in XADDs/s. */
async function pipelinedXadds(url, key, count) {
  const redis = await createClient({ url }).connect();
  try {
    const entries = Array.from({ length: count }, (_, i) =>
      JSON.stringify({ type: 'broadcast', value: makeEvent(i, payload.pad) }),
    );
    const started = now();
    await Promise.all(
      entries.map((entry) =>
        redis.sendCommand(['XADD', key, 'MAXLEN', '~', '10000', '*', 'm', entry, 'n', '1']),
      ),
    );
    return count / ((now() - started) / 1000);
  } finally {
    await redis.sendCommand(['DEL', key]);
    await redis.close();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
