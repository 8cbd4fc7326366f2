import { Controller } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { SseRoute } from 'nestjs-sse-hub';
import { SseHealthIndicator } from 'nestjs-sse-hub/terminus';
import { openSseStream, type SseTestStream } from 'nestjs-sse-hub/testing';
import { getHealth, HealthController, healthUntil } from './support/health';
import { startApp, type TestApp } from './support/start-app';

@Controller('ticks')
class TicksController {
  @SseRoute('events', { keepAlive: false })
  events() {}
}

describe('SseHealthIndicator with the in-process transport, through terminus on a real app', () => {
  let app: TestApp;
  const streams: SseTestStream[] = [];

  beforeAll(async () => {
    app = await startApp(
      {
        imports: [TerminusModule.forRoot({ logger: false })],
        controllers: [HealthController, TicksController],
        providers: [SseHealthIndicator],
      },
      { maxConnections: 2 },
    );
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    await app?.app.close();
  });

  it('is up, and reports the streams open against maxConnections as they open and end', async () => {
    expect(await getHealth(app.url)).toEqual({
      status: 200,
      body: expect.objectContaining({
        status: 'ok',
        info: { sse: { status: 'up', transport: 'InMemoryTransport', streams: 0, maxConnections: 2 } },
      }),
    });

    streams.push(
      await openSseStream(app.url, '/ticks/events'),
      await openSseStream(app.url, '/ticks/events'),
    );
    expect(streams.map((stream) => stream.status)).toEqual([200, 200]);
    // A full instance is still healthy: it refuses new streams and serves the ones it has.
    const full = await getHealth(app.url);
    expect(full.status).toBe(200);
    expect(full.body.info!.sse).toEqual({
      status: 'up',
      transport: 'InMemoryTransport',
      streams: 2,
      maxConnections: 2,
    });
    const refused = await openSseStream(app.url, '/ticks/events');
    expect(refused.status).toBe(503);
    refused.close();

    streams[0].close();
    await healthUntil(app.url, ({ body }) => body.info?.sse?.streams === 1);
    streams[1].close();
    const after = await healthUntil(app.url, ({ body }) => body.info?.sse?.streams === 0);
    expect(after.status).toBe(200);
  });
});
