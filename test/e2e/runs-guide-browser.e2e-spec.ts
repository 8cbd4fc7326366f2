/// <reference lib="dom" />
import { Controller, Get, Header } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Page } from 'playwright-core';
import ts from 'typescript';
import { SseHub } from 'nestjs-sse-hub';
import { type AnswerView } from '../../docs/examples/src/guide/answer.client';
import { AnswerController, SignedInGuard } from '../../docs/examples/src/guide/answer.controller';
import { type Chromium, chromiumAvailable, launchChromium } from './support/chromium';
import { startApp, type TestApp } from './support/start-app';

// The page's side of docs/runs.md (docs/examples/src/guide/answer.client.ts, as users copy
// it) in Debian's Chromium, against the guide's controller: ask, reload mid-answer and
// resume, stop from another tab. Run once, in the Express project.
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

(chromiumAvailable() ? describe : describe.skip)("the guide's page in a real browser (Chromium)", () => {
  let t: TestApp;
  let browser: Chromium;
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
    browser = await launchChromium();
    await browser.context.addCookies([{ name: 'user', value: 'ann', url: t.url }]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.app.close();
    expect(t.logger.errors()).toEqual([]);
  });

  async function openPage(): Promise<Page> {
    const page = await browser.context.newPage();
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
