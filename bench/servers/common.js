// What every server process shares: it starts its server on a loopback port, says
// { ready, port } to the orchestrator, then answers the same IPC commands whatever the
// library behind it, so that the only difference between runs is that library.
//
//   { cmd: 'count' }                      → { count }        open streams, as the server sees them
//   { cmd: 'broadcast', count, seq, payload } → { done, at }  `count` broadcasts back to back, in one turn
//   { cmd: 'rss' }                        → { rss, heapUsed } after a full GC (forked with --expose-gc)
//   { cmd: 'cpu' }                        → { cpuMs }        CPU time used so far (user + system)
//   { cmd: 'metrics' }                    → { exports, values } what a server with an SDK recorded ({} without)
//   { cmd: 'runs' }                       → { active, readers, finished } resumable runs, on a server that has them
//   { cmd: 'go' }                         → {}               lets held producers start, on a server that holds them
//   { cmd: 'heapOwners' }                 → { total, owners, names } a heap snapshot summed by owner (lib/heap-owners.js)
const http = require('node:http');
const path = require('node:path');
const { serve } = require('../lib/ipc');
const { now } = require('../lib/clock');
const { makeEvent } = require('../lib/event');

/**
 * `start()` resolves with `{ port, count(), broadcast(event) }`; `broadcast` may return a
 * Promise (the hub's does), which is awaited only after every broadcast has been made.
 */
function runServer(start) {
  serve({
    count: () => ({ count: server.count() }),
    // How long presence() of a channel (or of all) takes here, `times` times in a row, in ms.
    async presence({ channel, times = 100 }) {
      const took = [];
      let count;
      for (let i = 0; i < times; i++) {
        const started = now();
        count = (await server.presence(channel)).count;
        took.push(now() - started);
      }
      return { took, count };
    },
    async broadcast({ count, seq, payload }) {
      const pending = [];
      // Back to back, without awaiting: this is the burst the clients are timing.
      for (let i = 0; i < count; i++) {
        const result = server.broadcast(makeEvent(seq + i, payload.pad));
        if (result && typeof result.then === 'function') pending.push(result);
      }
      if (pending.length) await Promise.all(pending);
      return { done: true, at: now() };
    },
    metrics: async () => (await server.metrics?.()) ?? {},
    runs: () => server.runs?.() ?? {},
    go: () => server.go?.() ?? {},
    cpu() {
      const { user, system } = process.cpuUsage();
      return { cpuMs: (user + system) / 1000 };
    },
    // Loaded on demand: a server that is never asked holds nothing of it.
    heapOwners: () => require('../lib/heap-snapshot').heapOwners(libraryClasses()),
    rss() {
      // Twice: the first pass may only finalize what the second can then free.
      global.gc?.();
      global.gc?.();
      const { rss, heapUsed, heapTotal } = process.memoryUsage();
      return { rss, heapUsed, heapTotal, gc: typeof global.gc === 'function' };
    },
  });
  let server;
  start().then(
    (started) => {
      server = started;
      process.send({ ready: true, port: started.port, pid: process.pid });
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/** Listens on an ephemeral loopback port; resolves with the port. */
function listen(httpServer) {
  return new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    // A backlog as large as a batch of connections: the client opens 500 at once.
    httpServer.listen(0, '127.0.0.1', 1024, () => resolve(httpServer.address().port));
  });
}

/** Opens an event stream on a plain response and keeps it in `open` until it closes. */
function acceptStream(res, open) {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  // Headers go out now, so the client sees the stream open before the first event.
  res.flushHeaders();
  open.add(res);
  res.once('close', () => open.delete(res));
}

/**
 * Raw Node `http`: every request to /events becomes a stream kept in `open`. With
 * `closeDelimited`, the body goes without chunked framing (Node drops it when both
 * length headers are removed), the way this library sends HTTP/1.1 streams.
 */
function rawServer(open, { closeDelimited = false } = {}) {
  return http.createServer((req, res) => {
    if (req.url !== '/events') {
      res.writeHead(404).end();
      return;
    }
    if (closeDelimited) {
      res.removeHeader('transfer-encoding');
      res.removeHeader('content-length');
    }
    acceptStream(res, open);
  });
}

/** One broadcast as raw http does it best: framed once, the same Buffer written to every response. */
function writeToAll(open, event) {
  const frame = Buffer.from(`data: ${JSON.stringify(event)}\n\n`);
  for (const res of open) res.write(frame);
}

/**
 * A Nest app (logger off) on Express, or on Fastify with `platform: 'fastify'`, with one
 * controller at '' whose method `events` carries `decorators` (and parameter decorators
 * `params`, by position), listening on loopback; or, with `methods`, one method per name,
 * each `{ handler, decorators, params }`. Plain JS applies decorators by hand: Reflect.decorate
 * returns the final descriptor, which must be defined back, since @SseRoute() wraps the handler.
 */
async function startNest({
  events,
  decorators,
  params = [],
  methods = { events: { handler: events, decorators, params } },
  imports = [],
  platform = 'express',
}) {
  require('reflect-metadata');
  const { NestFactory } = require('@nestjs/core');
  const { Controller, Module } = require('@nestjs/common');
  class EventsController {}
  const proto = EventsController.prototype;
  for (const [name, { handler, decorators: own, params: ownParams = [] }] of Object.entries(methods)) {
    proto[name] = handler;
    ownParams.forEach((param, index) => param(proto, name, index));
    const descriptor = Reflect.decorate(own, proto, name, Object.getOwnPropertyDescriptor(proto, name));
    Object.defineProperty(proto, name, descriptor);
  }
  Controller('')(EventsController);
  class AppModule {}
  Module({ imports, controllers: [EventsController] })(AppModule);
  const adapter =
    platform === 'fastify' ? new (require('@nestjs/platform-fastify').FastifyAdapter)() : undefined;
  const app = adapter
    ? await NestFactory.create(AppModule, adapter, { logger: false })
    : await NestFactory.create(AppModule, { logger: false });
  await app.init();
  // Fastify serves nothing until it is ready (app.listen would do it; the caller listens itself).
  if (adapter) await adapter.getInstance().ready();
  return { app, server: app.getHttpServer() };
}

/** The dist/ measured: of the checkout BENCH_LIBRARY names (run.js's baseline), else of this one. */
function libraryDist() {
  return path.join(process.env.BENCH_LIBRARY || path.join(__dirname, '..', '..'), 'dist');
}

/** The built library (`sub` e.g. 'redis'). */
function library(sub = '') {
  return require(path.join(libraryDist(), sub));
}

let classes;
/** The class names the measured dist/ declares: what a heap snapshot counts as the library's. */
function libraryClasses() {
  classes ??= require('../lib/heap-owners').classNamesIn(libraryDist());
  return classes;
}

/**
 * With BENCH_REDIS_URL (bench/redis.js, bench/postgres.js), the hub servers share one Redis
 * stream; with BENCH_DATABASE_URL (bench/postgres.js), one PostgreSQL table. The hub
 * servers wait for `transport.ready()` before they say they are ready.
 */
function transportFromEnv() {
  // Sized for the benchmark's bursts (20,000 back to back), as the README says to size
  // maxLen for your largest burst: a reader further behind than maxLen misses entries.
  const url = process.env.BENCH_REDIS_URL;
  if (url) {
    const { RedisStreamsTransport } = library('redis');
    const maxLen = Number(process.env.BENCH_REDIS_MAXLEN || 100_000);
    return {
      transport: new RedisStreamsTransport({
        url,
        stream: process.env.BENCH_REDIS_STREAM || 'nestjs-sse-hub-bench',
        maxLen,
      }),
    };
  }
  const connectionString = process.env.BENCH_DATABASE_URL;
  if (connectionString) {
    const { PostgresTransport } = library('postgres');
    const maxLen = Number(process.env.BENCH_DATABASE_MAXLEN || 100_000);
    return {
      transport: new PostgresTransport({
        connectionString,
        table: process.env.BENCH_DATABASE_TABLE || 'nestjs_sse_hub_bench',
        maxLen,
      }),
    };
  }
  return {};
}

module.exports = {
  runServer,
  listen,
  acceptStream,
  rawServer,
  writeToAll,
  startNest,
  library,
  transportFromEnv,
};
