// The README's PostgreSQL example ("Many instances on PostgreSQL", docs/examples/src/guide/
// postgres.module.ts) in a process of its own: the app's pool, made with no 'error'
// listener, as a provider, and the transport on it. When PostgreSQL restarts, a broken idle
// connection's error is emitted on that pool, which ends the process unless someone
// listens: the test restarts PostgreSQL and checks that it lives on. CommonJS, on the build
// (npm test builds it first), decorators applied by hand. Env: DATABASE_URL, TABLE.
// Prints { port } as JSON once it reads. GET /r/:room/events streams; POST
// /r/:room/broadcast?data=… broadcasts to the room.
require('reflect-metadata');
const { Controller, Inject, Module, Param, Post, Query } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { Pool } = require('pg');
const { SseHub, SseModule, SseRoute } = require('../../../dist');
const { PostgresTransport } = require('../../../dist/postgres');

const decorate = (decorators, target, key) =>
  Object.defineProperty(
    target,
    key,
    Reflect.decorate(decorators, target, key, Object.getOwnPropertyDescriptor(target, key)),
  );

class DatabaseModule {
  constructor(pool) {
    this.pool = pool;
  }

  // The transport leaves the app's pool open: the app closes it.
  onApplicationShutdown() {
    return this.pool.end();
  }
}
Inject(Pool)(DatabaseModule, undefined, 0);
Module({
  providers: [
    { provide: Pool, useFactory: () => new Pool({ connectionString: process.env.DATABASE_URL }) },
    {
      provide: PostgresTransport,
      inject: [Pool],
      useFactory: (pool) => new PostgresTransport({ pool, table: process.env.TABLE, maxLen: 10_000 }),
    },
  ],
  exports: [Pool, PostgresTransport],
})(DatabaseModule);

class RoomsController {
  constructor(hub) {
    this.hub = hub;
  }

  events() {}

  async broadcast(room, data) {
    await this.hub.broadcast({ event: 'n', data }, { channels: room });
  }
}
Inject(SseHub)(RoomsController, undefined, 0);
decorate(
  [SseRoute(':room/events', { channels: (req) => [req.params.room], keepAlive: false })],
  RoomsController.prototype,
  'events',
);
Param('room')(RoomsController.prototype, 'broadcast', 0);
Query('data')(RoomsController.prototype, 'broadcast', 1);
decorate([Post(':room/broadcast')], RoomsController.prototype, 'broadcast');
Controller('r')(RoomsController);

class AppModule {}
Module({
  imports: [
    DatabaseModule,
    SseModule.forRootAsync({
      imports: [DatabaseModule],
      inject: [PostgresTransport],
      useFactory: (transport) => ({ transport }),
    }),
  ],
  controllers: [RoomsController],
})(AppModule);

async function main() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  await app.get(PostgresTransport).ready();
  console.log(JSON.stringify({ port: app.getHttpServer().address().port }));
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
