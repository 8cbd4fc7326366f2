// What every hub server runs: a Nest app with one @SseRoute('events') that returns nothing,
// so the stream stays open for the hub, and SseHub.broadcast(value) per event.
//
//   platform  'express' or 'fastify'
//   metrics   'off' (SseModule.forRoot({ metrics: false })) or 'sdk' (a real SDK with a reader, see sdk-meter.js)
//
// BENCH_LIBRARY (set by run.js for its BENCH_BASELINE servers) is the checkout whose dist/
// is measured, this one by default; a build older than the metrics ignores `metrics`.
const { runServer, listen, startNest, library, transportFromEnv } = require('./common');

function runHub({ platform, metrics }) {
  const { SseModule, SseRoute, SseHub } = library();
  // Loaded only here: a server with metrics off holds nothing of the SDK.
  const sdk = metrics === 'sdk' ? require('./sdk-meter').sdkMeter() : undefined;
  runServer(async () => {
    const transport = transportFromEnv();
    const { app, server } = await startNest({
      events: () => undefined,
      // bench/redis.js puts streams in channels with ?ch=… (BENCH_CHANNELS=1), for presence().
      decorators: [
        SseRoute('events', {
          keepAlive: false,
          ...(process.env.BENCH_CHANNELS === '1' && { channels: (req) => req.query.ch ?? [] }),
        }),
      ],
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
