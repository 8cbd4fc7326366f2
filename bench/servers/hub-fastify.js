// This library on Fastify: the same Nest app as `hub` (one @SseRoute('events') that
// returns nothing, SseHub.broadcast(value) per event), on @nestjs/platform-fastify.
const { SseModule, SseRoute, SseHub } = require('../../dist');
const { runServer, listen, startNest, transportFromEnv } = require('./common');

runServer(async () => {
  const { app, server } = await startNest({
    events: () => undefined,
    decorators: [SseRoute('events', { keepAlive: false })],
    imports: [SseModule.forRoot(transportFromEnv())],
    platform: 'fastify',
  });
  const hub = app.get(SseHub);
  return { port: await listen(server), count: () => hub.count(), broadcast: (event) => hub.broadcast(event) };
});
