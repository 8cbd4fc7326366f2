/// <reference lib="dom" />
import { jest } from '@jest/globals';
import { Controller, Get, Header, type INestApplication } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type BrowserContext, type Page, type Route } from 'playwright-core';
import ts from 'typescript';
import { SseHub } from 'nestjs-sse-hub';
import { CANNED_ANSWER, CANNED_TOKENS, FakeModel } from '../../demo/answer.controller';
import { type AnswerView } from '../../docs/examples/src/guide/answer.client';
import { AnswerController, SignedInGuard } from '../../docs/examples/src/guide/answer.controller';
import { CaptureLogger } from './support/capture-logger';
import { type Chromium, chromiumAvailable, launchChromium } from './support/chromium';
import { startApp, type TestApp } from './support/start-app';
import { TokenGate } from './support/token-gate';
import { startDemo } from './support/demo-app';

// Resumable runs in Debian's Chromium, run once, in the Express project: the demo's answer
// page, then the page's side of docs/runs.md. One browser for both (a launch is seconds of
// a loaded machine), each page on an app, so an origin, of its own; each part closes its
// pages before its app.
const CHROMIUM = chromiumAvailable();
let browser: Chromium;
if (CHROMIUM) {
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => browser?.close());
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

// The demo's resumable answer page.
(CHROMIUM ? describe : describe.skip)('the resumable answer page in Chromium', () => {
  let app: INestApplication;
  let url: string;
  let hub: SseHub;
  let context: BrowserContext;
  const pages: Page[] = [];
  let gate: TokenGate;
  let tokens: jest.SpiedFunction<FakeModel['tokens']>;
  let think: jest.SpiedFunction<FakeModel['think']>;
  let model: FakeModel;
  const logger = new CaptureLogger();

  beforeAll(async () => {
    const started = await startDemo(logger);
    const demo = started.demo;
    app = demo;
    url = started.url;
    hub = demo.get(SseHub);
    // The model's pace is the test's: each token waits for the gate instead of the demo's delay.
    model = demo.get(FakeModel);
    think = jest.spyOn(model, 'think').mockImplementation((signal) => gate.pass(signal));
    tokens = jest.spyOn(model, 'tokens');
    context = browser.context;
  }, 60_000);
  afterAll(async () => {
    for (const page of pages) if (!page.isClosed()) await page.close();
    await app?.close();
    expect(logger.errors()).toEqual([]);
  });

  async function openAnswerPage(): Promise<Page> {
    const page = await context.newPage();
    pages.push(page);
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
    gate = new TokenGate();
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
    gate = new TokenGate();
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
    gate = new TokenGate();
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

// The page's side of docs/runs.md (docs/examples/src/guide/answer.client.ts, as users copy
// it), against the guide's controller: ask, reload mid-answer and resume, stop from another tab.
const ANSWER = 'You asked: tea. Here is a long answer, word by word.'
  .split(' ')
  .map((word) => `${word} `)
  .join('');

const LONG_PROMPT = Array.from({ length: 1000 }, () => 'tea').join(' ');

/** What the test page's script adds to `window`: the guide's functions, and a view of the answer. */
interface GuidePage {
  ask(id: string, prompt: string, view: AnswerView): Promise<EventSource>;
  resume(id: string, view: AnswerView, lastEventId?: string): EventSource;
  view: AnswerView;
  source?: EventSource;
}

@Controller()
class PageController {
  @Get('page')
  @Header('content-type', 'text/html; charset=utf-8')
  page() {
    return '<!doctype html><title>answer</title><p id="answer"></p>';
  }
}

(CHROMIUM ? describe : describe.skip)("the guide's page in a real browser (Chromium)", () => {
  let t: TestApp;
  const pages: Page[] = [];
  // The guide's browser code, as the page's bundler would hand it over.
  const script =
    ts.transpileModule(readFileSync(resolve('docs/examples/src/guide/answer.client.ts'), 'utf8'), {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 },
    }).outputText +
    `
const answer = document.getElementById('answer');
Object.assign(window, {
  ask,
  resume,
  view: { append: (text) => (answer.textContent += text), clear: () => (answer.textContent = '') },
});`;

  beforeAll(async () => {
    t = await startApp(
      { controllers: [AnswerController, PageController], providers: [SignedInGuard] },
      // EventSource's reconnect at the end of a run comes sooner.
      { retry: 100 },
      {
        // Stands for the app's authentication: the session cookie names the user.
        configure: (app) =>
          app.use((req: any, _res: unknown, next: () => void) => {
            const user = /(?:^|; )user=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
            if (user) req.user = { id: user };
            next();
          }),
      },
    );
    // The demo's app above reads no cookie: this one, for this host, changes nothing there.
    await browser.context.addCookies([{ name: 'user', value: 'ann', url: t.url }]);
  }, 60_000);
  afterAll(async () => {
    for (const page of pages) if (!page.isClosed()) await page.close();
    await t?.app.close();
    expect(t.logger.errors()).toEqual([]);
  });

  async function openPage(): Promise<Page> {
    const page = await browser.context.newPage();
    pages.push(page);
    await page.goto(`${t.url}/page`);
    await page.addScriptTag({ type: 'module', content: script });
    await page.waitForFunction(() => 'ask' in window);
    return page;
  }

  const shown = (page: Page) => page.textContent('#answer');

  const ended = (page: Page) =>
    // EventSource's reconnect after the end gets 204, and it stops for good (CLOSED).
    page.waitForFunction(() => (window as unknown as GuidePage).source?.readyState === 2, undefined, {
      timeout: 10_000,
    });

  it('asks with a POST and shows the answer as fetch reads it; the check after the end gets 204', async () => {
    const page = await openPage();
    await page.evaluate(async () => {
      const guide = window as unknown as GuidePage;
      guide.source = await guide.ask('1', 'tea', guide.view);
    });
    await ended(page);
    expect(await shown(page)).toBe(ANSWER);
    await page.close();
  });

  it('a POST stream ended by the server mid-answer: the page resumes after its last event, the answer once', async () => {
    const page = await openPage();
    const asked = page.evaluate(async () => {
      const guide = window as unknown as GuidePage;
      guide.source = await guide.ask('4', 'tea', guide.view);
    });
    await page.waitForFunction(() => (document.getElementById('answer')?.textContent ?? '').length > 0);
    const hub = t.app.get(SseHub);
    for (const client of hub.clients()) await hub.close(client.id);
    await asked;
    await ended(page);
    expect(await shown(page)).toBe(ANSWER);
    await page.close();
  });

  it('reloaded mid-answer, the page resumes with EventSource: the whole answer once, then it stops on 204', async () => {
    const page = await openPage();
    void page.evaluate(() => {
      const guide = window as unknown as GuidePage;
      void guide.ask('2', 'tea', guide.view);
    });
    await page.waitForFunction(() => (document.getElementById('answer')?.textContent ?? '').length > 12);
    await page.reload();
    await page.addScriptTag({ type: 'module', content: script });
    await page.waitForFunction(() => 'ask' in window);
    await page.evaluate(() => {
      const guide = window as unknown as GuidePage;
      guide.source = guide.resume('2', guide.view);
    });
    await ended(page);
    expect(await shown(page)).toBe(ANSWER);
    await page.close();
  });

  it('a stop from another tab ends the answer in both', async () => {
    const asking = await openPage();
    // A long prompt, a long answer (the guide's model says it back, a word every 100 ms):
    // it is still running when the other tab stops it.
    const asked = asking.evaluate((prompt) => {
      const guide = window as unknown as GuidePage;
      return guide.ask('3', prompt, guide.view);
    }, LONG_PROMPT);
    await asking.waitForFunction(() => (document.getElementById('answer')?.textContent ?? '').length > 0);
    const other = await openPage();
    await other.evaluate(() => {
      const guide = window as unknown as GuidePage;
      guide.source = guide.resume('3', guide.view);
    });
    await other.waitForFunction(() => (document.getElementById('answer')?.textContent ?? '').length > 0);
    const stopped = await other.evaluate(async () =>
      (await fetch('/chat/3/stop', { method: 'POST' })).json(),
    );
    expect(stopped).toEqual({ stopped: true });
    await asked;
    await ended(other);
    // Both show what the run produced before the stop, once.
    const [a, b] = [await shown(asking), await shown(other)];
    expect(a).toBe(b);
    expect(`You asked: ${LONG_PROMPT}.`.startsWith(a!.trim())).toBe(true);
    const status = await other.evaluate(async () => (await fetch('/chat/3/status')).json());
    expect(status.status).toBe('aborted');
  });
});
