import { Controller } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { TerminusModule } from '@nestjs/terminus';
import { SseRoute } from 'nestjs-sse-hub';
import { RedisStreamsTransport } from 'nestjs-sse-hub/redis';
import { SseHealthIndicator } from 'nestjs-sse-hub/terminus';
import { openSseStream, type SseTestStream } from 'nestjs-sse-hub/testing';
import { getHealth, HealthController, healthUntil } from './support/health';
import { findRedisServer, RedisServer } from './support/redis-server';
import { startApp, type TestApp } from './support/start-app';

@Controller('ticks')
class TicksController {
  @SseRoute('events', { keepAlive: false })
  events() {}
}

const redisServer = findRedisServer();
const CAN_RUN = redisServer !== undefined;
if (!CAN_RUN) {
  if (process.env.CI)
    throw new Error(
      'redis-server is missing and CI needs it: run `npm test` as root so test/support/ensure-tools.sh can install it.',
    );
  console.warn(
    '\n⚠ redis-server is not installed: the Redis health check test is skipped (npm test installs it).\n',
  );
}

(CAN_RUN ? describe : describe.skip)(
  'SseHealthIndicator with RedisStreamsTransport, through terminus on a real app',
  () => {
    let redis: RedisServer | undefined;
    let app: TestApp | undefined;
    let stream: SseTestStream | undefined;

    afterAll(async () => {
      stream?.close();
      await app?.app.close();
      await redis?.stop();
    });

    it('goes down with a reason while Redis is away, and up again once it is back on the same port', async () => {
      redis = await RedisServer.start(redisServer);
      const transport = new RedisStreamsTransport({ url: redis.url, stream: `sse-test-${randomUUID()}` });
      app = await startApp(
        {
          imports: [TerminusModule.forRoot({ logger: false })],
          controllers: [HealthController, TicksController],
          providers: [SseHealthIndicator],
        },
        { transport },
      );
      await transport.ready();
      stream = await openSseStream(app.url, '/ticks/events');

      expect(await getHealth(app.url)).toEqual({
        status: 200,
        body: expect.objectContaining({
          status: 'ok',
          info: { sse: { status: 'up', transport: 'RedisStreamsTransport', streams: 1 } },
        }),
      });

      await redis.stop();
      const down = await healthUntil(app.url, ({ status }) => status !== 200);
      expect(down.status).toBe(503);
      expect(down.body.status).toBe('error');
      // The streams it has are still served, and still counted.
      expect(down.body.error!.sse).toEqual({
        status: 'down',
        transport: 'RedisStreamsTransport',
        streams: 1,
        reason: expect.stringContaining(`Redis at ${redis.url}`),
      });
      expect(down.body.error!.sse.reason).toMatch(/connection is not ready/);

      await redis.restart();
      const up = await healthUntil(app.url, ({ status }) => status === 200);
      expect(up.body).toEqual(
        expect.objectContaining({
          status: 'ok',
          info: { sse: { status: 'up', transport: 'RedisStreamsTransport', streams: 1 } },
        }),
      );
    });
  },
);
