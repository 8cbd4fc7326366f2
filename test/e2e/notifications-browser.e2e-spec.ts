/// <reference lib="dom" />
import { type INestApplication } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { type Page } from 'playwright-core';
import { CaptureLogger } from './support/capture-logger';
import { type Chromium, chromiumAvailable, launchChromium } from './support/chromium';
import { startDemo } from './support/demo-app';

// The demo's per-user notifications page in Debian's Chromium: a bearer token from the fake
// log-in, the inbox read with nestjs-sse-hub/client, a notification to one user, and "log
// out everywhere". Run once, in the Express project.
(chromiumAvailable() ? describe : describe.skip)(
  'the notifications page in a real browser (Chromium)',
  () => {
    let app: INestApplication;
    let url: string;
    let browser: Chromium;
    const logger = new CaptureLogger();
    /** The inbox requests the server got, by the user whose token they carried (or "none"). */
    const inboxRequests: string[] = [];

    beforeAll(async () => {
      const started = await startDemo(logger);
      const demo = started.demo;
      app = demo;
      url = started.url;
      demo.getHttpServer().on('request', (req: IncomingMessage) => {
        if (req.url === '/notifications/events') inboxRequests.push(req.headers.authorization ?? 'none');
      });
      browser = await launchChromium();
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await app?.close();
      expect(logger.errors()).toEqual([]);
    });

    /** A tab logged in as `name`, its inbox live. */
    async function logIn(name: string): Promise<Page> {
      const page = await browser.context.newPage();
      await page.goto(`${url}/notifications.html`);
      await page.fill('#name', name);
      await page.click('#login');
      await page.waitForFunction(
        () =>
          document.getElementById('status')?.dataset.state === 'live' &&
          document.getElementById('devices')?.textContent !== '',
      );
      return page;
    }

    async function send(page: Page, to: string, text: string): Promise<void> {
      await page.fill('#to', to);
      await page.fill('#text', text);
      await page.click('#send');
      await page.waitForFunction(() => (document.getElementById('text') as HTMLInputElement).value === '');
    }

    const notifications = (page: Page) =>
      page.$$eval('#notifications .notification', (items) =>
        items.map(
          (item) =>
            `${item.querySelector('.from')?.textContent}: ${item.querySelector('.text')?.textContent}`,
        ),
      );
    const showing = (page: Page, count: number) =>
      page.waitForFunction(
        (count) => document.querySelectorAll('#notifications .notification').length === count,
        count,
      );

    it("a notification reaches every tab of its user and no one else's; log out everywhere ends them all with a 401", async () => {
      const alice = await logIn('alice');
      const alice2 = await logIn('alice');
      const bob = await logIn('bob');
      expect(await alice2.textContent('#devices')).toBe('2 tabs open as alice');
      expect(await bob.textContent('#devices')).toBe('1 tab open as bob');

      await send(bob, 'alice', 'hello alice');
      await send(alice, 'bob', 'hello bob');
      for (const page of [alice, alice2]) await showing(page, 1);
      await showing(bob, 1);
      for (const page of [alice, alice2])
        expect(await notifications(page)).toEqual(['from bob: hello alice']);
      // Alice's went out first: had it reached bob, it would be there before his own.
      expect(await notifications(bob)).toEqual(['from alice: hello bob']);
      const beforeLogout = inboxRequests.length;

      await alice2.click('#logout');
      for (const page of [alice, alice2]) {
        await page.waitForFunction(() => !document.getElementById('login-panel')!.hidden, undefined, {
          timeout: 15_000,
        });
        expect(await page.textContent('#error')).toMatch(/401/);
        expect(await page.getAttribute('#status', 'data-state')).toBe('closed');
      }
      // Each of alice's tabs tried once more, with its revoked token: refused, it stopped.
      expect(inboxRequests.slice(beforeLogout)).toHaveLength(2);
      expect(await bob.getAttribute('#status', 'data-state')).toBe('live');
      await send(bob, 'bob', 'still here');
      await showing(bob, 2);
      expect(await notifications(bob)).toEqual(['from bob: still here', 'from alice: hello bob']);
      for (const page of [alice, alice2, bob]) await page.close();
    }, 60_000);
  },
);
