// NestJS's built-in @Sse(): every stream subscribes to one shared Subject; a broadcast is
// subject.next({ data }). Nest serializes the event per subscriber.
require('reflect-metadata');
const { NestFactory } = require('@nestjs/core');
const { Controller, Module, Sse } = require('@nestjs/common');
const { Subject } = require('rxjs');
const { runServer, listen } = require('./common');

const subject = new Subject();

class EventsController {
  events() {
    return subject.asObservable();
  }
}
const descriptor = Reflect.decorate([Sse('events')], EventsController.prototype, 'events', Object.getOwnPropertyDescriptor(EventsController.prototype, 'events'));
Object.defineProperty(EventsController.prototype, 'events', descriptor);
Controller('')(EventsController);

class AppModule {}
Module({ controllers: [EventsController] })(AppModule);

runServer(async () => {
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.init();
  const server = app.getHttpServer();
  // Nest keeps no count of its SSE streams: count the open /events responses instead.
  let open = 0;
  server.on('request', (req, res) => {
    if (req.url !== '/events') return;
    open++;
    res.once('close', () => open--);
  });
  const port = await listen(server);
  return {
    port,
    count: () => open,
    broadcast: (event) => subject.next({ data: event }),
  };
});
