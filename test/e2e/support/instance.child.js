// One instance of an app on the Redis transport, in a process of its own so that a test
// can kill it without a goodbye (SIGKILL). CommonJS, on the build (npm test builds it
// first), decorators applied by hand. Env: REDIS_URL, STREAM, PRESENCE_TTL. Prints
// { port } as JSON once it reads the stream.
require('reflect-metadata');
const { Controller, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { SseModule, SseRoute } = require('../../../dist');
const { RedisStreamsTransport } = require('../../../dist/redis');

class PresenceController {
  room() {}
}
const decorate = (decorators, target, key) =>
  Object.defineProperty(target, key, Reflect.decorate(decorators, target, key, Object.getOwnPropertyDescriptor(target, key)));
decorate(
  [SseRoute(':room', { channels: (req) => `room:${req.params.room}`, presence: (client) => ({ user: client.request.query.user ?? null }), presenceEvents: true, keepAlive: false })],
  PresenceController.prototype,
  'room',
);
Controller('p')(PresenceController);

async function main() {
  const transport = new RedisStreamsTransport({ url: process.env.REDIS_URL, stream: process.env.STREAM, presenceTtl: Number(process.env.PRESENCE_TTL) });
  class AppModule {}
  Module({ imports: [SseModule.forRoot({ transport })], controllers: [PresenceController] })(AppModule);
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  await transport.ready();
  console.log(JSON.stringify({ port: app.getHttpServer().address().port }));
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
