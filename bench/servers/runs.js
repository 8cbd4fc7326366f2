// The resumable-runs benchmark's server (bench/runs.js): a Nest app on Express whose
// routes produce the same tokens, `?tokens=` of them, one every `?delay=` ms, each
// `{ n, t, tok }` with n counting from 0 and t its production time (ms since the epoch,
// sub-millisecond, the clock the client reads too). With `?held=1`, a producer waits for
// the `go` command before its first token: every reader is open before any token flows.
//
//   POST /runs/:id    resumable (key `bench:<id>`): starts the run, or joins it
//   GET  /runs/:id    resumable, create: false: joins the run (204 without one)
//   GET  /plain/:id   not resumable: the same tokens, produced for this request alone
//
// With BENCH_REDIS_URL the hub is on Redis (common.js's transportFromEnv), whose run
// store keeps the runs: a run started on one instance is read on another.
const { runServer, listen, startNest, library, transportFromEnv } = require('./common');
const { now } = require('../lib/clock');

/** Small string tokens, as a model's. */
const WORDS = [
  ' The',
  ' answer',
  ' is',
  ' being',
  ' written',
  ',',
  ' one',
  ' token',
  ' at',
  ' a',
  ' time',
  '.',
];

/** A positive integer from the query, or `fallback`. */
function intParam(value, fallback) {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

/** Resolved by the `go` command: held producers start. */
let go;
const started = new Promise((resolve) => (go = resolve));

/** The route's tokens, as an LLM client's stream would yield them; stops when `signal` aborts. */
async function* tokens(query, signal) {
  const count = intParam(query.tokens, 500);
  const delay = intParam(query.delay, 10);
  if (query.held === '1') await started;
  for (let n = 0; n < count; n++) {
    await new Promise((resolve) => setTimeout(resolve, delay));
    if (signal?.aborted) return;
    yield { n, t: now(), tok: WORDS[n % WORDS.length] };
  }
}

function runRuns() {
  const { SseModule, SseRoute, SseHub, SseRunSignal } = library();
  const { RequestMethod, Query } = require('@nestjs/common');
  const key = (req) => `bench:${req.params.id}`;
  runServer(async () => {
    const transport = transportFromEnv();
    const { app, server } = await startNest({
      methods: {
        start: {
          handler: (query, signal) => tokens(query, signal),
          decorators: [
            SseRoute('runs/:id', { method: RequestMethod.POST, keepAlive: false, resumable: { key } }),
          ],
          params: [Query(), SseRunSignal()],
        },
        resume: {
          handler: () => undefined,
          decorators: [SseRoute('runs/:id', { keepAlive: false, resumable: { key, create: false } })],
        },
        plain: {
          handler: (query) => tokens(query),
          decorators: [SseRoute('plain/:id', { keepAlive: false })],
          params: [Query()],
        },
      },
      imports: [SseModule.forRoot({ ...transport, metrics: false })],
    });
    const hub = app.get(SseHub);
    await transport.transport?.ready?.();
    return {
      port: await listen(server),
      count: () => hub.count(),
      broadcast: () => {
        throw new Error('the runs server does not broadcast');
      },
      go: () => {
        go();
        return {};
      },
      runs: () => {
        const { active, readers, finished } = hub.stats().runs;
        return { active, readers, finished };
      },
    };
  });
}

runRuns();
