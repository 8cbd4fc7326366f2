// This library: a Nest app (Express), one @SseRoute('events') that returns nothing, so the
// stream stays open for the hub, and SseHub.broadcast(value) per event.
const { SseModule, SseRoute, SseHub } = require('../../dist');
const { runServer, listen, startNest, transportFromEnv } = require('./common');

runServer(async () => {
  const { app, server } = await startNest({
    events: () => undefined,
    // bench/redis.js puts streams in channels with ?ch=… (BENCH_CHANNELS=1), for presence().
    decorators: [SseRoute('events', { keepAlive: false, ...(process.env.BENCH_CHANNELS === '1' && { channels: (req) => req.query.ch ?? [] }) })],
    imports: [SseModule.forRoot(transportFromEnv())],
  });
  const hub = app.get(SseHub);
  return { port: await listen(server), count: () => hub.count(), broadcast: (event) => hub.broadcast(event), presence: (channel) => hub.presence(channel) };
});
