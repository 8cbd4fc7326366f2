/// <reference lib="dom" />
import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  Injectable,
  Param,
  RequestMethod,
} from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Page } from 'playwright-core';
import { interval, map, Subject } from 'rxjs';
import { type SseClient, SseHub, SseRoute, type SseGateway } from 'nestjs-sse-hub';
import { openSseStream, type SseTestStream } from 'nestjs-sse-hub/testing';
import { type Chromium, chromiumAvailable, launchChromium } from './support/chromium';
import { startApp, type TestApp } from './support/start-app';

// The dashboard page in Chromium, under a Content-Security-Policy that forbids inline
// scripts, behind a guard that reads a token from the query string: its numbers must
// follow real streams and broadcasts. Run once, in the Express project. The screenshot
// the README shows (docs/dashboard.png) is written to SCREENSHOT; copy it by hand.
const SCREENSHOT = resolve('.test-artifacts/dashboard.png');
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'";
const WAIT = { timeout: 15_000 };

@Injectable()
class TokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest().query?.token === 'letmein';
  }
}

@Controller('app')
class AppController implements SseGateway {
  @SseRoute('rooms/:room/events', { channels: (req) => `room:${req.params.room}` })
  room(@Param('room') _room: string) {}

  onJoin(client: SseClient) {
    return { event: 'welcome', data: client.id };
  }

  @SseRoute('ticks')
  ticks() {
    return interval(250).pipe(map((i) => ({ event: 'tick', data: String(i) })));
  }

  @SseRoute('strict', { strictAccept: true })
  strict() {}

  @SseRoute('answers/:id', {
    method: RequestMethod.POST,
    resumable: { key: (req) => `answer:${req.params.id}` },
  })
  answer() {
    return answers;
  }
}

/** The tokens of the one resumable run the dashboard shows. */
const answers = new Subject<string>();

(chromiumAvailable() ? describe : describe.skip)('the dashboard in a real browser (Chromium)', () => {
  let t: TestApp;
  let hub: SseHub;
  let browser: Chromium;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    t = await startApp(
      { controllers: [AppController] },
      // No keepalive comments: they would add bytes while the test compares them.
      { maxConnections: 10_000, keepAlive: false, dashboard: { path: '/sse-hub', guard: TokenGuard } },
      // helmet's default for scripts: the page must not need an inline one.
      {
        configure: (app) =>
          app.use(
            (_req: unknown, res: { setHeader(name: string, value: string): void }, next: () => void) => (
              res.setHeader('content-security-policy', CSP),
              next()
            ),
          ),
      },
    );
    hub = t.app.get(SseHub);
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('console', (message) => {
      // The browser asks for /favicon.ico, which is the app's to serve, not the dashboard's.
      if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico'))
        pageErrors.push(`${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${t.url}/sse-hub?token=letmein`);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.app.close();
    expect(t?.logger.errors() ?? []).toEqual([]);
  });

  /** Waits until the element's raw number (data-value) is `value`, and says what it showed if it never is. */
  async function waitForValue(selector: string, value: number | string): Promise<void> {
    try {
      await page.waitForFunction(
        ([selector, value]) => document.querySelector(selector)?.getAttribute('data-value') === value,
        [selector, String(value)] as const,
        WAIT,
      );
    } catch (error) {
      const shown = await page.evaluate(
        (selector) => document.querySelector(selector)?.getAttribute('data-value'),
        selector,
      );
      throw new Error(`${selector} never showed ${value} (it shows ${shown}): ${(error as Error).message}`);
    }
  }
  const stat = (name: string) => `[data-stat="${name}"]`;
  const routeStat = (route: string, name: string) =>
    `[data-stat="routes"] tr[data-key="${route}"] [data-stat="${name}"]`;

  async function openRoomStreams(count: number, rooms: string[]): Promise<SseTestStream[]> {
    const streams = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        openSseStream(t.url, `/app/rooms/${rooms[i % rooms.length]}/events`),
      ),
    );
    // Registered in the hub once the welcome has come.
    for (const stream of streams) expect((await stream.nextEvent()).event).toBe('welcome');
    return streams;
  }

  it('runs under script-src self, and shows the transport and the stream it is fed by', async () => {
    await page.waitForFunction(
      () => document.querySelector('[data-stat="connection"]')?.textContent === 'live',
      undefined,
      WAIT,
    );
    await page.waitForFunction(
      () => document.querySelector('[data-stat="transport-state"]')?.textContent === 'up',
      undefined,
      WAIT,
    );
    expect(await page.textContent(stat('transport-name'))).toBe('InMemoryTransport');
    await waitForValue(routeStat('/sse-hub/stream', 'route-streams'), 1);
    expect(await page.textContent(stat('max-connections'))).toBe('10,000');
    expect(pageErrors).toEqual([]);
  });

  it('follows real traffic: streams, events, channels, broadcasts, rejections and replays match SseHub.stats()', async () => {
    const N = 5;
    const K = 7;
    const streams = await openRoomStreams(N, ['a', 'b']);
    let route = '';
    try {
      for (let k = 0; k < K; k++)
        await hub.broadcast({ event: 'message', data: { k } }, { channels: ['room:a', 'room:b'] });
      for (const stream of streams)
        for (let k = 0; k < K; k++) expect(JSON.parse((await stream.nextEvent()).data)).toEqual({ k });
      // A refusal (406) and a reconnection whose events are gone (a replay gap).
      expect((await fetch(`${t.url}/app/strict`, { headers: { accept: 'text/html' } })).status).toBe(406);
      const stranger = await openSseStream(t.url, '/app/rooms/c/events', {
        headers: { 'last-event-id': 'not-ours' },
      });
      expect((await stranger.nextEvent()).event).toBe('resync');
      stranger.close();

      const stats = hub.stats();
      const rooms = stats.routes.find((entry) => entry.route.startsWith('/app/rooms/'))!;
      route = rooms.route;
      // At least the K broadcasts to each of the N (what else the hub counts is the hub's business).
      expect(rooms.events).toBeGreaterThanOrEqual(N * K);
      await waitForValue(routeStat(route, 'route-events'), rooms.events);
      await waitForValue(routeStat(route, 'route-bytes'), rooms.bytes);
      await waitForValue(routeStat(route, 'route-streams'), N);
      await waitForValue(stat('streams'), N + 1);
      expect(hub.stats().streams).toBe(N + 1);
      await waitForValue(
        `[data-stat="channels"] tr[data-key="room:a"] [data-stat="channel-streams"]`,
        Math.ceil(N / 2),
      );
      await waitForValue(stat('broadcasts'), stats.broadcasts);
      await waitForValue(stat('rejected-not_acceptable'), 1);
      await waitForValue(stat('replays-gap'), 1);
      // The charts are drawn from the deltas of consecutive snapshots.
      await page.waitForFunction(
        () =>
          (document.querySelector('[data-chart="bytes"] polyline')?.getAttribute('points') ?? '').split(' ')
            .length >= 2,
        undefined,
        WAIT,
      );
    } finally {
      for (const stream of streams) stream.close();
    }
    // The streams are gone: the count goes back to the dashboard's own.
    await waitForValue(stat('streams'), 1);
    await waitForValue(routeStat(route, 'route-streams'), 0);
    expect(hub.stats().streams).toBe(1);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('lists the runs this instance produces, with their events and readers, and counts those that ended', async () => {
    const run = await openSseStream(t.url, '/app/answers/42', { method: 'POST' });
    answers.next('one');
    answers.next('two');
    await run.take(2);
    const row = (name: string) => `[data-stat="runs"] tr[data-key="answer:42"] [data-stat="${name}"]`;
    await waitForValue(stat('runs-active'), 1);
    await waitForValue(row('run-events'), 2);
    await waitForValue(row('run-readers'), 1);
    answers.complete();
    await run.closed();
    await waitForValue(stat('runs-active'), 0);
    await waitForValue(stat('runs-completed'), 1);
    expect(await page.$(`[data-stat="runs"] tr[data-key="answer:42"]`)).toBeNull();
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('takes the screenshot the README shows, under realistic traffic', async () => {
    const rooms = ['lobby', 'support', 'orders:eu', 'orders:us', 'ops'];
    const streams = [
      ...(await openRoomStreams(23, rooms)),
      ...(await Promise.all([1, 2, 3].map(() => openSseStream(t.url, '/app/ticks')))),
    ];
    // Broadcasts at a rate that rises and falls, until the charts hold 20 seconds.
    let n = 0;
    const traffic = setInterval(() => {
      const burst = 1 + Math.round(4 * (1 + Math.sin(n++ / 8)));
      for (let i = 0; i < burst; i++)
        void hub.broadcast(
          { event: 'message', data: { n, text: 'x'.repeat(200) } },
          { channels: `room:${rooms[(n + i) % rooms.length]}` },
        );
    }, 100);
    try {
      await page.waitForFunction(
        () =>
          (document.querySelector('[data-chart="events"] polyline')?.getAttribute('points') ?? '').split(' ')
            .length >= 20,
        undefined,
        { timeout: 45_000 },
      );
      mkdirSync(resolve('.test-artifacts'), { recursive: true });
      await page.setViewportSize({ width: 1100, height: 600 });
      await page.screenshot({ path: SCREENSHOT });
    } finally {
      clearInterval(traffic);
      for (const stream of streams) stream.close();
    }
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
