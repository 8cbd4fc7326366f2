// One instance of an app on the Redis or the PostgreSQL transport, in a process of its own
// so that a test can kill it without a goodbye (SIGKILL). CommonJS, on the build (npm test
// builds it first), decorators applied by hand. Env: REDIS_URL (or REDIS_CLUSTER, the root
// nodes as JSON) and STREAM, or DATABASE_URL and TABLE; PRESENCE_TTL. Prints { port } as
// JSON once it reads.
require('reflect-metadata');
const { Controller, Module, RequestMethod } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { SseModule, SseRoute, SseRunSignal } = require('../../../dist');

class PresenceController {
  room() {}
}
const decorate = (decorators, target, key) =>
  Object.defineProperty(
    target,
    key,
    Reflect.decorate(decorators, target, key, Object.getOwnPropertyDescriptor(target, key)),
  );
decorate(
  [
    SseRoute(':room', {
      channels: (req) => `room:${req.params.room}`,
      user: (req) => req.query.user,
      presence: (client) => ({ user: client.request.query.user ?? null }),
      presenceEvents: true,
      keepAlive: false,
    }),
  ],
  PresenceController.prototype,
  'room',
);
Controller('p')(PresenceController);

// A resumable run that ticks every 20 ms until it is stopped: what dies with this process.
class RunController {
  start(signal) {
    return (async function* () {
      for (let n = 1; !signal.aborted; n++) {
        yield { event: 'tick', data: String(n) };
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
  }
}
const keyOf = (req) => `run:${req.params.id}`;
// Parameters first, as TypeScript applies them.
SseRunSignal()(RunController.prototype, 'start', 0);
decorate(
  [SseRoute(':id', { method: RequestMethod.POST, keepAlive: false, resumable: { key: keyOf } })],
  RunController.prototype,
  'start',
);
Controller('r')(RunController);

async function main() {
  const presenceTtl = Number(process.env.PRESENCE_TTL);
  const transport = process.env.DATABASE_URL
    ? new (require('../../../dist/postgres').PostgresTransport)({
        connectionString: process.env.DATABASE_URL,
        table: process.env.TABLE,
        presenceTtl,
      })
    : new (require('../../../dist/redis').RedisStreamsTransport)({
        ...(process.env.REDIS_CLUSTER
          ? {
              client: require('redis').createCluster({
                rootNodes: JSON.parse(process.env.REDIS_CLUSTER),
                defaults: { disableOfflineQueue: true },
              }),
            }
          : { url: process.env.REDIS_URL }),
        stream: process.env.STREAM,
        presenceTtl,
      });
  class AppModule {}
  Module({ imports: [SseModule.forRoot({ transport })], controllers: [PresenceController, RunController] })(
    AppModule,
  );
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  await transport.ready();
  console.log(JSON.stringify({ port: app.getHttpServer().address().port }));
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
