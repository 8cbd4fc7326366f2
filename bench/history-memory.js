// Memory cost of one replay-history entry: heap after N broadcasts (kept in a history of N)
// minus heap with an empty history, divided by N. Run: npm run build && node --expose-gc bench/history-memory.js
const { EventEmitter } = require('node:events');
const { HubStreams, SseHub, SseClient, InMemoryTransport } = require('../dist/internal');
const { streamOf } = require('../dist/connection/internal');

/** A response that takes writes and drops them: one client, so every event gets encoded. */
function sink() {
  const res = new EventEmitter();
  Object.assign(res, {
    headersSent: false,
    writableEnded: false,
    destroyed: false,
    writeHead() {},
    flushHeaders() {},
    write: () => true,
    end() {},
  });
  return new SseClient({ request: {}, req: { httpVersionMajor: 1, headers: {} }, res, keepAlive: false });
}

async function heapAfter(count, historySize) {
  const streams = new HubStreams(new InMemoryTransport({ historySize }), { metrics: false });
  const hub = new SseHub(streams);
  await hub.onModuleInit();
  const client = sink();
  const route = { presenceEvents: false, replayLimit: false, resyncEvent: 'resync' };
  await streams.attach(client, route, 'GET /bench').open({ result: undefined });
  streamOf(client).start();
  // A ~100-byte JSON event, as in the fan-out benchmark.
  for (let n = 0; n < count; n++) {
    await hub.broadcast({
      event: 'update',
      data: { n, user: 'user-' + (n % 1000), text: 'x'.repeat(40), at: 1732250000000 + n },
    });
  }
  global.gc();
  global.gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heap: heapUsed + arrayBuffers, hub };
}

async function main() {
  const N = Number(process.env.N ?? 100_000);
  const results = [];
  for (let run = 0; run < 5; run++) {
    const empty = await heapAfter(N, 0);
    const emptyHeap = empty.heap;
    const full = await heapAfter(N, N);
    results.push((full.heap - emptyHeap) / N);
    void empty.hub;
    void full.hub;
  }
  results.sort((a, b) => a - b);
  console.log(
    `history entries: ${N}; bytes per entry (heap + buffers, one client), median of 5 runs: ${results[2].toFixed(0)} (runs: ${results.map((r) => r.toFixed(0)).join(', ')})`,
  );
}

void main();
