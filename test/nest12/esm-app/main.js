// A NestJS 12 app written as ES modules, in plain JavaScript (decorators applied by hand),
// that imports the library the way a user's app does: from the installed package.
// It listens on PORT (0: any free port) and prints { port, nest } as JSON once ready.
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { Controller, Module, Param, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConnectedClient, SseHub, SseModule, SseRoute } from 'nestjs-sse-hub';

class RoomsController {
  constructor(hub) {
    this.hub = hub;
  }

  events(room, client) {
    return { event: 'welcome', data: { room, client: client.id } };
  }

  async say(room) {
    await this.hub.broadcast({ event: 'said', data: { room } }, { channels: room });
    return { sent: true };
  }
}

const decorate = (decorators, target, key) =>
  Object.defineProperty(
    target,
    key,
    Reflect.decorate(decorators, target, key, Object.getOwnPropertyDescriptor(target, key)),
  );

Param('room')(RoomsController.prototype, 'events', 0);
ConnectedClient()(RoomsController.prototype, 'events', 1);
decorate(
  [SseRoute(':room/events', { channels: (req) => [req.params.room] })],
  RoomsController.prototype,
  'events',
);
Param('room')(RoomsController.prototype, 'say', 0);
decorate([Post(':room/say')], RoomsController.prototype, 'say');
Reflect.defineMetadata('design:paramtypes', [SseHub], RoomsController);
Controller('rooms')(RoomsController);

class AppModule {}
Module({ imports: [SseModule.forRoot({ retry: 2000 })], controllers: [RoomsController] })(AppModule);

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
const nest = createRequire(import.meta.url)('@nestjs/core/package.json').version;
console.log(JSON.stringify({ port: app.getHttpServer().address().port, nest }));
