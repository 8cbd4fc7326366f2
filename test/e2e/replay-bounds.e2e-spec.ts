import { Controller } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { type SseClient, type SseGateway, SseHub, SseRoute, type SseTransport } from 'nestjs-sse-hub';
import { PostgresTransport } from 'nestjs-sse-hub/postgres';
import { RedisStreamsTransport } from 'nestjs-sse-hub/redis';
import { openSseStream } from 'nestjs-sse-hub/testing';
import { spawnInstance } from './support/instance-process';
import { findPostgres, PostgresServer } from './support/postgres-server';
import { findRedisServer, RedisServer } from './support/redis-server';
import { startApp } from './support/start-app';

// The route of the instance child process (instance.child.js): `/p/:room`, in channel `room:<room>`.
// Here, for the publishing app's own watcher, with room for the whole burst.
@Controller('p')
class RoomController implements SseGateway {
  @SseRoute(':room', {
    channels: (req) => `room:${req.params.room}`,
    keepAlive: false,
    maxPendingBytes: 64 * 1024 * 1024,
  })
  room() {}

  onJoin(client: SseClient) {
    return { event: 'hello', data: client.id };
  }
}

const EVENT_BYTES = 100_000;
const EVENTS = 250; // ~25 MB of history
const RECONNECTS = 20;

interface Server {
  transport(topic: string): SseTransport;
  env(topic: string): Record<string, string>;
  stop(): Promise<void>;
}

const redisBinary = findRedisServer();
const postgres = findPostgres();
const servers: Array<[string, boolean, () => Promise<Server>]> = [
  [
    'Redis',
    redisBinary !== undefined,
    async () => {
      const redis = await RedisServer.start(redisBinary!);
      return {
        transport: (stream) => new RedisStreamsTransport({ url: redis.url, stream }),
        env: (stream) => ({ REDIS_URL: redis.url, STREAM: stream }),
        stop: () => redis.stop(),
      };
    },
  ],
  [
    'PostgreSQL',
    postgres !== undefined,
    async () => {
      const server = await PostgresServer.start(postgres!);
      const url = server.url;
      return {
        transport: (table) => new PostgresTransport({ connectionString: url, table }),
        env: (table) => ({ DATABASE_URL: url, TABLE: table }),
        stop: () => server.stop(),
      };
    },
  ],
];

describe.each(servers)(
  'a replay on %s is read in pages and bounded by the client, however long the history',
  (_, available, startServer) => {
    let server: Server;
    beforeAll(async () => {
      if (available) server = await startServer();
    }, 60_000);
    afterAll(async () => server?.stop(), 30_000);

    (available ? it : it.skip)(
      `${RECONNECTS} reconnects with an old id against ~25 MB of history get a resync each from an instance with a 128 MB heap, which lives on; a recent id replays in full`,
      async () => {
        const topic = `t${randomUUID().replace(/-/g, '').slice(0, 16)}`;
        const transport = server.transport(topic) as SseTransport & { ready(): Promise<void> };
        const publisher = await startApp({ controllers: [RoomController] }, { transport });
        const { url, child } = await spawnInstance({
          ...server.env(topic),
          PRESENCE_TTL: '15000',
          NODE_OPTIONS: '--max-old-space-size=128',
        });
        let exit: string | undefined;
        child.on('exit', (code, signal) => (exit = `exited with ${code ?? signal}`));
        try {
          const hub = publisher.app.get(SseHub);
          await transport.ready();
          const watcher = await openSseStream(publisher.url, '/p/a', { timeout: 30_000 });
          await watcher.nextEvent();
          const filler = 'x'.repeat(EVENT_BYTES);
          for (let n = 0; n < EVENTS; n++)
            await hub.broadcast({ event: 'n', data: `${n} ${filler}` }, { channels: 'room:a' });
          const events = await watcher.take(EVENTS);
          watcher.close();
          const ids = events.map((event) => event.id!);

          // All at once, as a crowd reconnecting after a deploy (or an attacker) would.
          const answers = await Promise.all(
            Array.from({ length: RECONNECTS }, async () => {
              const stream = await openSseStream(url, '/p/a', {
                headers: { 'last-event-id': ids[0] },
                timeout: 60_000,
              });
              try {
                return (await stream.nextEvent()).event;
              } finally {
                stream.close();
              }
            }),
          );
          expect(answers).toEqual(Array.from({ length: RECONNECTS }, () => 'resync'));

          // Three events (~300 kB) fit in the client's 1 MiB: replayed in full, across pages.
          const recent = await openSseStream(url, '/p/a', {
            headers: { 'last-event-id': ids[EVENTS - 4] },
            timeout: 30_000,
          });
          const replayed = await recent.take(3);
          recent.close();
          expect(replayed.map((event) => event.id)).toEqual(ids.slice(EVENTS - 3));
          expect(exit).toBeUndefined();
        } finally {
          child.kill('SIGKILL');
          await publisher.app.close();
        }
      },
      180_000,
    );
  },
);
