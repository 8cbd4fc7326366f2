/// <reference lib="dom" />
import { jest } from '@jest/globals';
import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { type BrowserContext, type Page, type Route } from 'playwright-core';
import { SseHub } from 'nestjs-sse-hub';
import { CANNED_ANSWER, CANNED_TOKENS, FakeModel } from '../../demo/answer.controller';
import { AppModule } from '../../demo/app.module';
import { CaptureLogger } from './support/capture-logger';
import { type Chromium, chromiumAvailable, launchChromium } from './support/chromium';

/** Lets the fake model's tokens out as the test says: the model waits here before each one. */
class Gate {
  private allowed = 0;
  private taken = 0;
  private readonly waiting = new Set<() => void>();

  /** Lets out the tokens up to the n-th of the run. */
  open(n: number): void {
    this.allowed = n;
    for (const wake of [...this.waiting]) wake();
  }

  /** The model's wait before a token: until the test lets it out, or the run's signal aborts. */
  async pass(signal: AbortSignal): Promise<void> {
    const n = ++this.taken;
    while (n > this.allowed && !signal.aborted) {
      await new Promise<void>((done) => {
        const wake = () => {
          this.waiting.delete(wake);
          signal.removeEventListener('abort', wake);
          done();
        };
        this.waiting.add(wake);
        signal.addEventListener('abort', wake);
      });
    }
  }
}

/** What the page has stored of its run (the demo's localStorage entry). */
interface StoredRun {
  id: string;
  text: string;
  tokens: number;
  lastEventId: string;
}

const TOTAL = CANNED_TOKENS.length;
const firstTokens = (n: number) => CANNED_TOKENS.slice(0, n).join('');

// The demo's resumable answer page in Debian's Chromium. Run once, in the Express project.
(chromiumAvailable() ? describe : describe.skip)('the resumable answer page in Chromium', () => {
  let app: INestApplication;
  let url: string;
  let hub: SseHub;
  let browser: Chromium;
  let context: BrowserContext;
  let gate: Gate;
  let tokens: jest.SpiedFunction<FakeModel['tokens']>;
  let think: jest.SpiedFunction<FakeModel['think']>;
  let model: FakeModel;
  const logger = new CaptureLogger();

  beforeAll(async () => {
    const demo = await NestFactory.create<NestExpressApplication>(AppModule, { logger });
    demo.useStaticAssets(resolve('demo/public'));
    await demo.listen(0, '127.0.0.1');
    app = demo;
    url = `http://127.0.0.1:${(demo.getHttpServer().address() as AddressInfo).port}`;
    hub = demo.get(SseHub);
    // The model's pace is the test's: each token waits for the gate instead of the demo's delay.
    model = demo.get(FakeModel);
    think = jest.spyOn(model, 'think').mockImplementation((signal) => gate.pass(signal));
    tokens = jest.spyOn(model, 'tokens');
    browser = await launchChromium();
    context = browser.context;
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    expect(logger.errors()).toEqual([]);
  });

  async function openAnswerPage(): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${url}/answer.html`);
    return page;
  }

  const stored = (page: Page) =>
    page.evaluate(() => JSON.parse(localStorage.getItem('sse-demo-answer')!) as StoredRun);
  const answerOf = (page: Page) =>
    page.$eval('#answer', (answer) => ({
      text: answer.textContent,
      restored: Number((answer as HTMLElement).dataset.restored),
      received: Number((answer as HTMLElement).dataset.received),
    }));
  const showing = (page: Page, text: string, state = 'running') =>
    page.waitForFunction(
      ([text, state]) =>
        document.getElementById('answer')?.textContent === text &&
        document.getElementById('run-status')?.dataset.state === state,
      [text, state],
    );
  // The page's client got its 204 and stopped, and the page shows how the run ended.
  const ended = (page: Page, state: string) =>
    page.waitForFunction((state) => {
      const pill = document.getElementById('run-status');
      return pill?.dataset.state === state && pill.dataset.closed === 'true';
    }, state);
  const statusOf = async (id: string) => (await fetch(`${url}/chat/${id}/status`)).json();

  it('a reload mid-answer goes on where it was, each token once, and a second tab follows the run', async () => {
    gate = new Gate();
    gate.open(25);
    const first = await openAnswerPage();
    await first.fill('#prompt', 'What are server-sent events?');
    await first.click('#ask');
    await showing(first, firstTokens(25));
    const { id, lastEventId } = await stored(first);
    expect(lastEventId).toMatch(/^[0-9a-f]{12}-25$/);

    // A second tab shows what is stored and follows the run from there.
    const second = await openAnswerPage();
    await showing(second, firstTokens(25));

    // Reload: the page's resume is held until the model has gone on without it.
    let held!: (route: Route) => void;
    const resume = new Promise<Route>((resolve) => (held = resolve));
    const answerRoute = (address: URL) => address.pathname === `/chat/${id}/answer`;
    await first.route(answerRoute, (route) => held(route));
    await first.reload();
    const route = await resume;
    // The page's client resumes where the tab was: the stored id, sent as Last-Event-ID.
    expect(route.request().headers()['last-event-id']).toBe(lastEventId);
    expect(await answerOf(first)).toEqual({ text: firstTokens(25), restored: 25, received: 0 });
    gate.open(50);
    await showing(second, firstTokens(50));
    expect(await hub.runStatus(`answer:${id}`)).toEqual({ status: 'running', events: 50 });
    // The reloaded page reads the 25 it missed from the run, then follows it live.
    await route.continue();
    await first.unroute(answerRoute);
    await showing(first, firstTokens(50));

    gate.open(Infinity);
    for (const page of [first, second]) await ended(page, 'completed');
    expect(await answerOf(first)).toEqual({ text: CANNED_ANSWER, restored: 25, received: TOTAL - 25 });
    expect(await answerOf(second)).toEqual({ text: CANNED_ANSWER, restored: 25, received: TOTAL - 25 });
    expect((await stored(first)).text).toBe(CANNED_ANSWER);
    expect(await statusOf(id)).toEqual({ status: 'completed', events: TOTAL });
    // One model run for two tabs and a reload.
    expect(tokens).toHaveBeenCalledTimes(1);
    await second.close();
    await first.close();
  }, 30_000);

  it('a run stopped from another tab ends as aborted in both, and its producer is stopped', async () => {
    gate = new Gate();
    gate.open(10);
    const first = await openAnswerPage();
    const second = await openAnswerPage();
    await first.fill('#prompt', 'Tell me everything.');
    await first.click('#ask');
    // The second tab sees the new run in localStorage and follows it.
    for (const page of [first, second]) await showing(page, firstTokens(10));
    const { id } = await stored(second);
    expect(tokens).toHaveBeenCalledTimes(2);
    const [, signal] = tokens.mock.calls[1];
    expect(signal.aborted).toBe(false);

    await second.click('#stop');
    for (const page of [first, second]) await ended(page, 'aborted');
    expect(signal.aborted).toBe(true);
    expect(await hub.runStatus(`answer:${id}`)).toEqual({ status: 'aborted', events: 10 });
    expect(await statusOf(id)).toEqual({ status: 'aborted', events: 10 });
    for (const page of [first, second]) {
      expect((await answerOf(page)).text).toBe(firstTokens(10));
      expect(await page.isEnabled('#ask')).toBe(true);
      expect(await page.isDisabled('#stop')).toBe(true);
    }
    await second.close();
    await first.close();
  }, 30_000);

  it("a dropped stream, without a reload: the page's client asks again with the POST and its Last-Event-ID, and gets the missed tokens once", async () => {
    gate = new Gate();
    gate.open(10);
    const page = await openAnswerPage();
    await page.fill('#prompt', 'Survive a network change.');
    await page.click('#ask');
    await showing(page, firstTokens(10));
    const { id, lastEventId } = await stored(page);
    const runs = tokens.mock.calls.length;

    // The server ends the asking tab's stream; its client's next request is held until the run went on.
    let held!: (route: Route) => void;
    const resume = new Promise<Route>((resolve) => (held = resolve));
    const answerRoute = (address: URL) => address.pathname === `/chat/${id}/answer`;
    await page.route(answerRoute, (route) => held(route));
    for (const client of hub.clients()) await hub.close(client.id);
    const route = await resume;
    const request = route.request();
    expect([request.method(), request.headers()['last-event-id']]).toEqual(['POST', lastEventId]);
    expect(JSON.parse(request.postData()!)).toEqual({ prompt: 'Survive a network change.' });
    gate.open(30);
    // Not a reload: the page still shows what it got, and counts it as received, not restored.
    expect(await answerOf(page)).toEqual({ text: firstTokens(10), restored: 0, received: 10 });
    await route.continue();
    await page.unroute(answerRoute);
    await showing(page, firstTokens(30));

    gate.open(Infinity);
    await ended(page, 'completed');
    expect(await answerOf(page)).toEqual({ text: CANNED_ANSWER, restored: 0, received: TOTAL });
    // The POST joined the run: the model ran once.
    expect(tokens.mock.calls.length).toBe(runs);
    expect(await statusOf(id)).toEqual({ status: 'completed', events: TOTAL });
    await page.close();
  }, 30_000);

  it("the model's own wait between tokens ends when the run is stopped: the model stops at once", async () => {
    think.mockRestore();
    // Far beyond this test's timeout: the wait must end with the run, not by itself.
    model.delayMs = 60_000;
    const response = await fetch(`${url}/chat/slow/answer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Take your time.' }),
    });
    expect(response.status).toBe(200);
    await response.body!.cancel();
    const [, signal] = tokens.mock.calls.at(-1)!;
    const answer = tokens.mock.results.at(-1)!.value as AsyncGenerator<unknown>;
    const stop = await fetch(`${url}/chat/slow/stop`, { method: 'POST' });
    expect(await stop.json()).toEqual({ stopped: true });
    expect(signal.aborted).toBe(true);
    // Returned by the run while it waits for its first token: done as soon as the signal ends that wait.
    expect(await answer.next()).toEqual({ done: true, value: undefined });
    expect(await statusOf('slow')).toEqual({ status: 'aborted', events: 0 });
  }, 10_000);
});
