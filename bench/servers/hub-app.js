// What every hub server runs: a Nest app with one @SseRoute('events') that returns nothing,
// so the stream stays open for the hub, and SseHub.broadcast(value) per event.
//
//   platform  'express' or 'fastify'
//   metrics   'off' (SseModule.forRoot({ metrics: false })) or 'sdk' (a real SDK with a reader, see sdk-meter.js)
//   join      'none', 'channel' (each stream joins one of 100 channels) or 'presence' (the
//             same, and each stream has presence info): against 'none', what one joined
//             channel and one presence entry cost per stream
//
// BENCH_LIBRARY (set by run.js for its BENCH_BASELINE servers) is the checkout whose dist/
// is measured, this one by default; a build older than the metrics ignores `metrics`.
const { runServer, listen, startNest, library, transportFromEnv } = require('./common');

/** The route's channels and presence, for `join` (BENCH_CHANNELS=1: from ?ch=, for bench/redis.js). */
function joinOptions(join) {
  if (process.env.BENCH_CHANNELS === '1') return { channels: (req) => req.query.ch ?? [] };
  if (join === 'none') return {};
  // A name built per stream, as one taken from the request would be; 100 channels, so that
  // what is measured is one membership per stream, not one channel per stream.
  let streams = 0;
  const channels = () => `c${streams++ % 100}`;
  if (join === 'channel') return { channels };
  let users = 0;
  return { channels, presence: () => ({ user: `u${users++}` }) };
}

function runHub({ platform, metrics, join = 'none' }) {
  const { SseModule, SseRoute, SseHub } = library();
  // Loaded only here: a server with metrics off holds nothing of the SDK.
  const sdk = metrics === 'sdk' ? require('./sdk-meter').sdkMeter() : undefined;
  runServer(async () => {
    const transport = transportFromEnv();
    const { app, server } = await startNest({
      events: () => undefined,
      decorators: [SseRoute('events', { keepAlive: false, ...joinOptions(join) })],
      imports: [
        SseModule.forRoot({ ...transport, metrics: sdk ? { meterProvider: sdk.meterProvider } : false }),
      ],
      platform,
    });
    const hub = app.get(SseHub);
    // Across instances: what is published once this resolves reaches this instance's clients.
    await transport.transport?.ready?.();
    return {
      port: await listen(server),
      count: () => hub.count(),
      broadcast: (event) => hub.broadcast(event),
      presence: (channel) => hub.presence(channel),
      metrics: () => sdk?.snapshot() ?? {},
    };
  });
}

module.exports = { runHub };
