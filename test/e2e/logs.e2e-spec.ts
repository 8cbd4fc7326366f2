import { Controller } from '@nestjs/common';
import { SseHub, SseRoute } from 'nestjs-sse-hub';
import { openSseStream, type SseTestStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

const STORM = 200;
/** Holds every stream's setup (registered in the hub, not started) until released. */
let release: () => void = () => {};
let released = new Promise<void>((resolve) => (release = resolve));

@Controller('logs')
class LogsController {
  @SseRoute('held', {
    maxPendingBytes: 1024,
    keepAlive: false,
    channels: async () => {
      await released;
      return ['storm'];
    },
  })
  held() {}
}

describe('logs', () => {
  let t: TestApp;
  let hub: SseHub;
  beforeAll(async () => {
    t = await startApp({ controllers: [LogsController] });
    hub = t.app.get(SseHub);
  });
  afterAll(() => t.app.close());

  it('a storm of slow consumers writes one line that says what happened and what to do, not one per stream', async () => {
    // Their headers wait for the setup: opened all at once, awaited once it is released.
    const opening: Array<Promise<SseTestStream>> = Array.from({ length: STORM }, () =>
      openSseStream(t.url, '/logs/held', { timeout: 60_000 }),
    );
    while (hub.count() < STORM) await new Promise((resolve) => setTimeout(resolve, 5));
    // Each stream, still being set up, is sent more than its maxPendingBytes: every one is a slow consumer.
    await hub.broadcast({ data: 'x'.repeat(2048) });
    expect(hub.count()).toBe(0);
    expect(hub.stats().slowConsumers.close).toBe(STORM);
    release();
    released = new Promise<void>((resolve) => (release = resolve));
    for (const stream of await Promise.all(opening)) stream.close();

    const lines = t.logger.lines.filter((line) => /slow consumer/.test(line.message));
    expect(lines).toHaveLength(1);
    expect(lines[0].level).toBe('warn');
    expect(lines[0].message).toMatch(
      /\/logs\/held left more than its maxPendingBytes unread .* was closed: it reconnects and replays what it missed/,
    );
    expect(lines[0].message).toMatch(/raise maxPendingBytes or choose the other slowConsumer policy/);
  });
});
