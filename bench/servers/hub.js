// This library: a Nest app (Express), one @SseRoute('events') that returns nothing, so the
// stream stays open for the hub, and SseHub.broadcast(value) per event.
const { SseModule, SseRoute, SseHub } = require('../../dist');
const { runServer, listen, startNest, transportFromEnv } = require('./common');

runServer(async () => {
  const { app, server } = await startNest({
    events: () => undefined,
    decorators: [SseRoute('events', { keepAlive: false })],
    imports: [SseModule.forRoot(transportFromEnv())],
  });
  const hub = app.get(SseHub);
  return { port: await listen(server), count: () => hub.count(), broadcast: (event) => hub.broadcast(event) };
});
