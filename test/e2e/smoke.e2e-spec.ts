import { Controller } from '@nestjs/common';
import { interval, map, take } from 'rxjs';
import { SseRoute } from 'nestjs-sse-hub';
import { openSseStream } from 'nestjs-sse-hub/testing';
import { startApp, TestApp } from './support/start-app';

@Controller()
class TickController {
  @SseRoute('ticks')
  ticks() {
    return interval(10).pipe(take(3), map((i) => ({ event: 'tick', data: { i } })));
  }
}

describe('smoke', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startApp({ controllers: [TickController] })));
  afterAll(() => t.app.close());

  it('streams ticks then ends', async () => {
    const s = await openSseStream(t.url, '/ticks');
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('text/event-stream');
    expect(await s.take(3)).toEqual([0, 1, 2].map((i) => ({ type: 'event', event: 'tick', id: undefined, data: JSON.stringify({ i }) })));
    await s.closed();
    expect(t.logger.errors()).toEqual([]);
  });
});
