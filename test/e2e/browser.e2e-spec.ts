/// <reference lib="dom" />
import { type INestApplication } from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { resolve } from 'node:path';
import { type BrowserContext, type Page } from 'playwright-core';
import { SseHub } from 'nestjs-sse-hub';
import { CaptureLogger } from './support/capture-logger';
import { type Chromium, chromiumAvailable, launchChromium } from './support/chromium';
import { startDemo } from './support/demo-app';

// The demo page in Debian's Chromium. Run once, in the Express project. The screenshot
// the README shows is written to SCREENSHOT.
const SCREENSHOT = resolve('.test-artifacts/demo-page.png');

(chromiumAvailable() ? describe : describe.skip)('the demo page in a real browser (Chromium)', () => {
  let app: INestApplication;
  let url: string;
  let hub: SseHub;
  let browser: Chromium;
  let context: BrowserContext;
  const logger = new CaptureLogger();

  beforeAll(async () => {
    const started = await startDemo(logger);
    const demo = started.demo;
    app = demo;
    url = started.url;
    hub = demo.get(SseHub);
    browser = await launchChromium();
    context = browser.context;
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    expect(logger.errors()).toEqual([]);
  });

  async function openRoom(room: string): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${url}/?room=${room}`);
    await page.waitForFunction(
      () =>
        document.getElementById('status')?.dataset.state === 'live' &&
        document.getElementById('client-id')?.textContent !== '…',
    );
    return page;
  }

  const messages = (page: Page) =>
    page.$$eval('#messages .text', (items) => items.map((item) => item.textContent));

  it('connects, counts who is there, and shows a message sent from one page in the other', async () => {
    const first = await openRoom('lobby-a');
    await first.waitForFunction(() => document.getElementById('count')?.textContent === '1');
    const second = await openRoom('lobby-a');
    // Presence is broadcast: both pages see two.
    for (const page of [first, second])
      await page.waitForFunction(() => document.getElementById('count')?.textContent === '2');

    await first.fill('#author', 'ada');
    await first.fill('#text', 'hello from the first page');
    await first.click('#send');
    await second.waitForFunction(
      () => document.querySelector('#messages .text')?.textContent === 'hello from the first page',
    );
    expect(await second.textContent('#messages .author')).toBe('ada');
    // The ticker panel streams from an Observable route.
    await first.waitForFunction(() => /^\d+$/.test(document.getElementById('tick-n')?.textContent ?? ''));

    await first.fill('#text', 'and a second one');
    await first.click('#send');
    await first.waitForFunction(() => document.querySelectorAll('#messages .text').length === 2);
    mkdirSync(resolve('.test-artifacts'), { recursive: true });
    await first.setViewportSize({ width: 1100, height: 700 });
    await first.screenshot({ path: SCREENSHOT });
    await second.close();
    await first.waitForFunction(() => document.getElementById('count')?.textContent === '1');
    await first.close();
  });

  it('reconnects by itself after the server drops its stream, after the retry the server set, and shows every event once, in order', async () => {
    const room = 'replayed';
    const page = await openRoom(room);
    const clientId = (await page.textContent('#client-id'))!;
    // When the browser comes back, and with which Last-Event-ID.
    let reconnect: { at: number; lastEventId: string | undefined } | undefined;
    const watch = (req: IncomingMessage) => {
      if (req.url === `/rooms/${room}/events` && req.headers['last-event-id'])
        reconnect ??= { at: performance.now(), lastEventId: String(req.headers['last-event-id']) };
    };
    app.getHttpServer().on('request', watch);
    try {
      const TOTAL = 60;
      let droppedAt = 0;
      for (let n = 0; n < TOTAL; n++) {
        await hub.broadcast(
          { event: 'message', data: { author: 'bot', text: `m${n}`, at: new Date().toISOString() } },
          { channels: `room:${room}` },
        );
        if (n === 15) {
          await page.waitForFunction(() => document.querySelectorAll('#messages .text').length === 16);
          await hub.close(clientId);
          droppedAt = performance.now();
        }
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      await page.waitForFunction(
        (total) => document.querySelectorAll('#messages .text').length >= total,
        TOTAL,
        { timeout: 15_000 },
      );
      expect(await messages(page)).toEqual(Array.from({ length: TOTAL }, (_, n) => `m${n}`));
      expect(reconnect).toBeDefined();
      const delay = reconnect!.at - droppedAt;
      console.log(
        `browser reconnect: after ${delay.toFixed(0)} ms (server retry: 2000 ms), with Last-Event-ID ${reconnect!.lastEventId}`,
      );
      // The demo's retry is 2 s: the browser waited for it rather than its own default.
      expect(delay).toBeGreaterThanOrEqual(1900);
      expect(delay).toBeLessThan(10_000);
      // A new connection: the page shows its new id.
      expect(await page.textContent('#client-id')).not.toBe(clientId);
    } finally {
      app.getHttpServer().off('request', watch);
      await page.close();
    }
  }, 60_000);
});
