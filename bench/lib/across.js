// Hub instances across a transport, measured the same way whatever the transport: used by
// bench/redis.js (Redis alone) and bench/postgres.js (PostgreSQL against Redis, in the
// same run). A "pair" is two hub servers (Nest on Express, bench/servers/hub.js), each its
// own process, sharing one transport set by their environment (see
// bench/servers/common.js's transportFromEnv): A broadcasts, and the benchmark's client
// process holds the streams on B.
//
//   latency     single broadcasts from A, `gapMs` apart: send → arrival at the first and
//               the last of `clients` clients on B
//   bursts      `burst` broadcasts made back to back from A, in one turn, to one client on
//               B: how fast A published them (until every promise resolved) and how long
//               they took to reach B
//
// With several pairs, each measurement runs in rounds, the pairs taking turns in an order
// that rotates from round to round, so that a machine getting busier or quieter during the
// run weighs on every transport alike.
const path = require('node:path');
const { spawn } = require('./ipc');
const { now, sleep } = require('./clock');
const { padFor } = require('./event');

const payload = { pad: padFor(100) };
const HUB = path.join(__dirname, '..', 'servers', 'hub.js');

/** Two hub servers on one transport (`env` names it); resolves once both read it. */
async function startPair(name, env) {
  const [a, b] = ['a', 'b'].map((which) => spawn(HUB, { env, name: `${name} hub ${which}` }));
  const stop = () => Promise.all([a.stop(), b.stop()]);
  try {
    const [, { port: portB }] = await Promise.all([a.ready, b.ready]);
    return { name, a, b, portB, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The pairs in round `r`'s order: turned by one each round. */
function rotate(pairs, r) {
  return pairs.map((_, i) => pairs[(i + r) % pairs.length]);
}

/** `total` split as evenly as can be into `parts` whole numbers. */
function split(total, parts) {
  return Array.from(
    { length: parts },
    (_, i) => Math.floor((total * (i + 1)) / parts) - Math.floor((total * i) / parts),
  );
}

/** Measures pairs with one client process (bench/client.js); the seq numbers of its events never repeat. */
class Across {
  constructor(client) {
    this.client = client;
    this.seq = 1;
  }

  /** `count` broadcasts back to back from the pair's A, to `n` clients: the client's arrivals, and when A's promises resolved. */
  async round(pair, n, count, timeoutMs = 120_000) {
    const from = this.seq;
    this.seq += count;
    await this.client.ask('arm', { from, to: from + count - 1, expected: n * count });
    const { at } = await pair.a.ask('broadcast', { count, seq: from, payload }, timeoutMs);
    return { ...(await this.client.ask('collect', { timeoutMs }, timeoutMs + 10_000)), publishedAt: at };
  }

  /** Opens `count` streams on each pair's B, and proves each pair live with `first` broadcasts, one at a time, not counted. */
  async open(pairs, count, first = 1) {
    for (const pair of pairs) {
      await this.client.ask('open', { url: `http://127.0.0.1:${pair.portB}/events`, count }, 120_000);
      for (let i = 0; i < first; i++) {
        const got = await this.round(pair, count, 1, 30_000);
        if (!got.complete)
          throw new Error(`${pair.name}: a first broadcast reached ${got.received} of ${count} clients on B`);
        await sleep(10);
      }
    }
  }

  /**
   * Latency to `clients` clients on each B: `singles` broadcasts per pair, in `rounds`
   * turns. Per pair: { first, last }, send → arrival in ms, one sample per broadcast, and
   * `rounds`, the same samples by round. With `warmUp`, each pair first makes 10 that are
   * not counted.
   */
  async latency(pairs, { clients, singles, rounds = 1, gapMs = 10, warmUp = false }) {
    const samples = new Map(pairs.map((pair) => [pair.name, { first: [], last: [], rounds: [] }]));
    await this.open(pairs, clients, warmUp ? 10 : 1);
    try {
      const chunks = split(singles, rounds);
      for (let r = 0; r < rounds; r++) {
        for (const pair of rotate(pairs, r)) {
          const { first, last, rounds: byRound } = samples.get(pair.name);
          const inRound = { first: [], last: [] };
          byRound.push(inRound);
          for (let i = 0; i < chunks[r]; i++) {
            const got = await this.round(pair, clients, 1);
            if (!got.complete)
              throw new Error(`${pair.name}: a broadcast reached ${got.received} of ${clients} clients on B`);
            const [toFirst, toLast] = [got.first[0] - got.t[0], got.last[0] - got.t[0]];
            first.push(toFirst);
            last.push(toLast);
            inRound.first.push(toFirst);
            inRound.last.push(toLast);
            await sleep(gapMs);
          }
        }
      }
    } finally {
      await this.client.ask('drop');
    }
    return samples;
  }

  /**
   * Bursts of `burst` broadcasts to one client on each B, `rounds` per pair. Per pair, one
   * value per round: `published`, broadcasts/s from A until its last promise resolved;
   * `spans`, ms from the first send to the last arrival on B; and `floor`, what
   * `floors[name]()` measured right after (bench/redis.js's hand-pipelined XADDs), if given.
   * With `warmUp`, each pair first makes one burst that is not counted: a pair's first
   * burst is its processes' first (code not yet optimized, buffers not yet grown).
   */
  async bursts(pairs, { burst, rounds, floors = {}, warmUp = false }) {
    const samples = new Map(pairs.map((pair) => [pair.name, { published: [], spans: [], floor: [] }]));
    await this.open(pairs, 1);
    try {
      for (const pair of warmUp ? pairs : []) {
        const got = await this.round(pair, 1, burst);
        if (!got.complete)
          throw new Error(
            `${pair.name}: only ${got.received} of ${burst} broadcasts of the warm-up reached B`,
          );
        await sleep(1500);
      }
      for (let r = 0; r < rounds; r++) {
        for (const pair of rotate(pairs, r)) {
          const { published, spans, floor } = samples.get(pair.name);
          const started = now();
          const got = await this.round(pair, 1, burst);
          if (!got.complete)
            throw new Error(`${pair.name}: only ${got.received} of ${burst} broadcasts reached B`);
          spans.push(Math.max(...got.last) - Math.min(...got.t));
          published.push(burst / ((got.publishedAt - started) / 1000));
          if (floors[pair.name]) floor.push(await floors[pair.name]());
          // Let the transport settle (PostgreSQL trims a second after a publish) before the next pair's turn.
          await sleep(pairs.length > 1 ? 1500 : 0);
        }
      }
    } finally {
      await this.client.ask('drop');
    }
    return samples;
  }
}

module.exports = { startPair, Across, payload };
