// A control, not run by default (BENCH_SERVERS=raw,nest-raw,hub,...): a plain Nest route
// on Express that writes the frame to each response itself, exactly like `raw`. It is the
// floor for any SSE on Nest with Express, and tells how much of a Nest-based server's gap
// to `raw` is the framework's response object rather than the SSE code.
require('reflect-metadata');
const { NestFactory } = require('@nestjs/core');
const { Controller, Get, Module, Res } = require('@nestjs/common');
const { runServer, listen } = require('./common');

const open = new Set();

class EventsController {
  events(res) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
    open.add(res);
    res.once('close', () => open.delete(res));
  }
}
Res()(EventsController.prototype, 'events', 0);
const descriptor = Reflect.decorate([Get('events')], EventsController.prototype, 'events', Object.getOwnPropertyDescriptor(EventsController.prototype, 'events'));
Object.defineProperty(EventsController.prototype, 'events', descriptor);
Controller('')(EventsController);

class AppModule {}
Module({ controllers: [EventsController] })(AppModule);

runServer(async () => {
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.init();
  const port = await listen(app.getHttpServer());
  return {
    port,
    count: () => open.size,
    broadcast(event) {
      const frame = Buffer.from(`data: ${JSON.stringify(event)}\n\n`);
      for (const res of open) res.write(frame);
    },
  };
});
