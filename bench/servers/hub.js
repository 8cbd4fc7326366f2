// This library: a Nest app (Express), one @SseRoute('events') that returns nothing, so the
// stream stays open for the hub, and SseHub.broadcast(value) per event. Decorators are
// applied by hand (plain JS): Reflect.decorate returns the final descriptor, which must be
// defined back on the prototype, since @SseRoute() wraps the handler.
require('reflect-metadata');
const { NestFactory } = require('@nestjs/core');
const { Controller, Module } = require('@nestjs/common');
const { SseModule, SseRoute, SseHub } = require('../../dist');
const { runServer, listen } = require('./common');

class EventsController {
  events() {
    return undefined;
  }
}
const descriptor = Reflect.decorate(
  [SseRoute('events', { keepAlive: false })],
  EventsController.prototype,
  'events',
  Object.getOwnPropertyDescriptor(EventsController.prototype, 'events'),
);
Object.defineProperty(EventsController.prototype, 'events', descriptor);
Controller('')(EventsController);

class AppModule {}
Module({ imports: [SseModule.forRoot({})], controllers: [EventsController] })(AppModule);

runServer(async () => {
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.init();
  const port = await listen(app.getHttpServer());
  const hub = app.get(SseHub);
  return {
    port,
    count: () => hub.count(),
    broadcast: (event) => hub.broadcast(event),
  };
});
