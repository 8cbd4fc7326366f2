/// <reference lib="dom" />
import {
  Body,
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  Header,
  HttpCode,
  Injectable,
  RequestMethod,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { type Page, type Route } from 'playwright-core';
import { type SseClient, type SseGateway, SseHub, SseRoute, SseRunSignal } from 'nestjs-sse-hub';
import { bundleForBrowser } from './support/browser-bundle';
import { type Chromium, chromiumAvailable, launchChromium } from './support/chromium';
import type { ClientPage, InboxEvents, OpenInit, SeenError, SeenEvent } from './support/client-page';
import { startApp, type TestApp } from './support/start-app';
import { TokenGate } from './support/token-gate';

// nestjs-sse-hub/client in Debian's Chromium: a page bundled with esbuild, against routes
// behind a guard that reads `Authorization: Bearer`, which EventSource cannot send. Run
// once, in the Express project.

/** What the guard puts on the request. */
interface SignedInRequest extends IncomingMessage {
  user: { id: string };
  params: Record<string, string>;
}

/** The app's sign-in, reduced to bearer tokens the test grants and revokes. */
@Injectable()
class Sessions {
  private readonly users = new Map<string, string>();

  grant(user: string): string {
    const token = `${user}-${Math.random().toString(36).slice(2)}`;
    this.users.set(token, user);
    return token;
  }

  revoke(token: string): void {
    this.users.delete(token);
  }

  userOf(token: string): string | undefined {
    return this.users.get(token);
  }
}

@Injectable()
class BearerGuard implements CanActivate {
  constructor(private readonly sessions: Sessions) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<SignedInRequest>();
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const user = token === undefined ? undefined : this.sessions.userOf(token);
    if (!user) throw new UnauthorizedException('Sign in, and send Authorization: Bearer <token>.');
    req.user = { id: user };
    return true;
  }
}

const userOf = (req: SignedInRequest) => req.user.id;

@Controller()
@UseGuards(BearerGuard)
class InboxController implements SseGateway<InboxEvents> {
  // A user's inbox: what the hub broadcasts to them, on every device they have open.
  @SseRoute<InboxEvents>('inbox', { user: userOf })
  inbox(): void {}

  onJoin(client: SseClient) {
    return { event: 'welcome' as const, data: { user: client.user! } };
  }
}

const RUN_TOKENS = 30;
const gate = new TokenGate();
let producedRuns = 0;

@Controller('runs')
@UseGuards(BearerGuard)
class RunController {
  // POST starts the user's run of this id, or joins it; its reconnects resume after Last-Event-ID.
  @SseRoute<InboxEvents>(':id', {
    method: RequestMethod.POST,
    user: userOf,
    resumable: { key: (req: SignedInRequest) => `run:${req.user.id}:${req.params.id}` },
  })
  async *run(@Body('prompt') prompt: string, @SseRunSignal() signal: AbortSignal) {
    producedRuns++;
    for (let n = 1; n <= RUN_TOKENS && prompt; n++) {
      await gate.pass(signal);
      if (signal.aborted) return;
      yield { event: 'token' as const, data: { text: `t${n}` } };
    }
  }
}

@Controller()
class PageController {
  script = '';

  @Get('page')
  @Header('content-type', 'text/html; charset=utf-8')
  page() {
    return '<!doctype html><title>client</title><script type="module" src="/page.js"></script>';
  }

  @Get('page.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  pageScript() {
    return this.script;
  }

  // A request the page makes after everything its stream could still have asked for.
  @Get('probe')
  @HttpCode(204)
  probe(): void {}
}

/** The server's tally of requests by path and bearer token. */
class RequestTally {
  private readonly counts = new Map<string, number>();
  readonly listener = (req: IncomingMessage) => {
    const key = `${req.method} ${req.url} ${req.headers.authorization ?? ''}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  };

  of(method: string, path: string, token: string): number {
    return this.counts.get(`${method} ${path} Bearer ${token}`) ?? 0;
  }
}

/** Waits for a condition the test cannot be told of (a run's progress in its store), polling. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const notes = (seen: SeenEvent[]) =>
  seen.filter((e) => e.event === 'note').map((e) => (e.data as InboxEvents['note']).text);

(chromiumAvailable() ? describe : describe.skip)('nestjs-sse-hub/client in a real browser (Chromium)', () => {
  let t: TestApp;
  let hub: SseHub;
  let sessions: Sessions;
  let browser: Chromium;
  const tally = new RequestTally();

  beforeAll(async () => {
    t = await startApp(
      { controllers: [InboxController, RunController, PageController], providers: [Sessions, BearerGuard] },
      // The client waits the server's retry before it reconnects: short, for the test's sake.
      { retry: 300 },
    );
    t.app.get(PageController).script = await bundleForBrowser('test/e2e/support/client-page.ts');
    t.app.getHttpServer().on('request', tally.listener);
    hub = t.app.get(SseHub);
    sessions = t.app.get(Sessions);
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.app.close();
    expect(t?.logger.errors()).toEqual([]);
  });

  /** A fresh page with the bundled client, its stream opened on `path`. */
  async function openPage(
    path: string,
    init: OpenInit,
    prepare?: (page: Page) => Promise<void>,
  ): Promise<Page> {
    const page = await browser.context.newPage();
    await prepare?.(page);
    await page.goto(`${t.url}/page`);
    await page.waitForFunction(() => 'clientPage' in window);
    await page.evaluate(([path, init]) => window.clientPage.open(path, init), [path, init] as const);
    return page;
  }

  const seenOf = (page: Page) => page.evaluate(() => window.clientPage.seen);
  const errorsOf = (page: Page) => page.evaluate(() => window.clientPage.errors);
  const statusOf = (page: Page) => page.evaluate(() => window.clientPage.stream!.status);
  const seenCount = (page: Page, event: string, count: number) =>
    page.waitForFunction(
      ([event, count]) => window.clientPage.seen.filter((e) => e.event === event).length >= count,
      [event, count] as const,
    );

  /** Holds the page's next request to `path` until the test lets it go on. */
  async function holdNext(
    page: Page,
    path: string,
  ): Promise<{ route: Promise<Route>; release(): Promise<void> }> {
    let held!: (route: Route) => void;
    const route = new Promise<Route>((resolve) => (held = resolve));
    const matches = (address: URL) => address.pathname === path;
    await page.route(matches, (r) => held(r));
    return {
      route,
      release: async () => {
        await (await route).continue();
        await page.unroute(matches);
      },
    };
  }

  it("sends the bearer token the guard wants, and gets the broadcasts to its user, not another user's", async () => {
    const aliceToken = sessions.grant('alice');
    const bobToken = sessions.grant('bob');
    const alice = await openPage('/inbox', { token: aliceToken });
    const bob = await openPage('/inbox', { token: bobToken });
    for (const page of [alice, bob]) await seenCount(page, 'welcome', 1);

    await hub.broadcast({ event: 'note', data: { text: 'for alice 1' } }, { users: 'alice' });
    await hub.broadcast({ event: 'note', data: { text: 'for bob' } }, { users: 'bob' });
    await hub.broadcast({ event: 'note', data: { text: 'for alice 2' } }, { users: ['alice'] });
    await seenCount(alice, 'note', 2);
    await seenCount(bob, 'note', 1);

    const seen = await seenOf(alice);
    // Bob's note went out between alice's two: had it reached her stream, it would be before the second.
    expect(seen.map(({ event, data }) => ({ event, data }))).toEqual([
      { event: 'welcome', data: { user: 'alice' } },
      { event: 'note', data: { text: 'for alice 1' } },
      { event: 'note', data: { text: 'for alice 2' } },
    ]);
    expect(seen[1].id).toMatch(/.+/);
    expect(notes(await seenOf(bob))).toEqual(['for bob']);
    expect(await statusOf(alice)).toBe('open');
    expect(await errorsOf(alice)).toEqual([]);
    expect(tally.of('GET', '/inbox', aliceToken)).toBe(1);
    for (const page of [alice, bob]) await page.close();
  });

  it('reconnects by itself, without a reload, after the server ends its stream: with Last-Event-ID, it gets what it missed once, in order', async () => {
    const token = sessions.grant('carol');
    const page = await openPage('/inbox', { token });
    await seenCount(page, 'welcome', 1);
    await hub.broadcast({ event: 'note', data: { text: 'c1' } }, { users: 'carol' });
    await hub.broadcast({ event: 'note', data: { text: 'c2' } }, { users: 'carol' });
    await seenCount(page, 'note', 2);
    const lastId = (await seenOf(page)).at(-1)!.id;

    // The client's reconnect is held until what it is to miss has been sent.
    const reconnect = await holdNext(page, '/inbox');
    await hub.closeUser('carol');
    const route = await reconnect.route;
    expect(route.request().headers()['last-event-id']).toBe(lastId);
    expect(route.request().headers()['authorization']).toBe(`Bearer ${token}`);
    expect(await statusOf(page)).toBe('connecting');
    for (const text of ['c3', 'c4', 'c5'])
      await hub.broadcast({ event: 'note', data: { text } }, { users: 'carol' });
    await hub.broadcast({ event: 'note', data: { text: 'not carol' } }, { users: 'dan' });
    await reconnect.release();

    await seenCount(page, 'welcome', 2);
    await seenCount(page, 'note', 5);
    await hub.broadcast({ event: 'note', data: { text: 'c6, live' } }, { users: 'carol' });
    await seenCount(page, 'note', 6);
    const seen = await seenOf(page);
    expect(seen.map((e) => (e.event === 'note' ? (e.data as InboxEvents['note']).text : e.event))).toEqual([
      'welcome',
      'c1',
      'c2',
      'welcome',
      'c3',
      'c4',
      'c5',
      'c6, live',
    ]);
    const ids = seen.filter((e) => e.event === 'note').map((e) => e.id);
    expect(new Set(ids).size).toBe(6);
    expect(await statusOf(page)).toBe('open');
    // Ended by the server, the stream is not an HTTP error.
    expect((await errorsOf(page)).filter((error) => error.status !== undefined || !error.willRetry)).toEqual(
      [],
    );
    expect(tally.of('GET', '/inbox', token)).toBe(2);
    await page.close();
  }, 30_000);

  it("stops on a 401 when the user's token was revoked: onError says 401, the status is closed, and no request follows", async () => {
    const token = sessions.grant('dave');
    const inboxRequests: string[] = [];
    const page = await openPage('/inbox', { token }, async (page) => {
      // The page's timers are the test's to run: every retry the client could schedule can be fired.
      await page.clock.install();
      page.on('request', (request) => {
        if (new URL(request.url()).pathname === '/inbox') inboxRequests.push(request.method());
      });
    });
    await seenCount(page, 'welcome', 1);

    // Log out everywhere: the token goes, then the user's streams.
    sessions.revoke(token);
    await hub.closeUser('dave');
    await page.waitForFunction(() => window.clientPage.errors.some((error) => error.status !== undefined));
    const errors = await errorsOf(page);
    expect(errors.filter((error) => !error.willRetry)).toEqual<SeenError[]>([
      { name: 'SseClientError', status: 401, willRetry: false, message: expect.any(String) },
    ]);
    expect(errors.at(-1)!.status).toBe(401);
    expect(await statusOf(page)).toBe('closed');

    // Ten minutes of the page's time, every timer fired: far past any back-off (30 s at most).
    await page.clock.runFor(10 * 60_000);
    await page.evaluate(() => fetch('/probe'));
    expect(inboxRequests).toEqual(['GET', 'GET']);
    expect(tally.of('GET', '/inbox', token)).toBe(2);
    expect(await statusOf(page)).toBe('closed');
    expect((await errorsOf(page)).length).toBe(errors.length);
    await page.close();
  }, 30_000);

  it('reads a resumable run with a POST, and resumes it through the client after a drop: each token once, then 204 stops it', async () => {
    const token = sessions.grant('erin');
    const body = JSON.stringify({ prompt: 'tell me' });
    const page = await openPage('/runs/r1', { token, method: 'POST', body });
    gate.open(10);
    await seenCount(page, 'token', 10);
    const lastId = (await seenOf(page)).at(-1)!.id;

    const reconnect = await holdNext(page, '/runs/r1');
    await hub.closeUser('erin');
    const route = await reconnect.route;
    const request = route.request();
    expect([request.method(), request.headers()['last-event-id'], request.postData()]).toEqual([
      'POST',
      lastId,
      body,
    ]);
    // The run goes on without its reader.
    gate.open(20);
    await until(async () => (await hub.runStatus('run:erin:r1'))?.events === 20, 'the run to have 20 events');
    await reconnect.release();
    await seenCount(page, 'token', 20);
    gate.open(Infinity);
    // At the end the stream ends; the client asks again after its last event and gets 204.
    await page.waitForFunction(() => window.clientPage.stream!.status === 'closed');

    const tokens = (await seenOf(page)).filter((e) => e.event === 'token');
    expect(tokens.map((e) => (e.data as InboxEvents['token']).text)).toEqual(
      Array.from({ length: RUN_TOKENS }, (_, n) => `t${n + 1}`),
    );
    expect(new Set(tokens.map((e) => e.id)).size).toBe(RUN_TOKENS);
    expect((await seenOf(page)).some((e) => e.event === 'resync')).toBe(false);
    expect((await errorsOf(page)).filter((error) => !error.willRetry)).toEqual([
      { name: 'SseClientError', status: 204, willRetry: false, message: expect.any(String) },
    ]);
    expect(producedRuns).toBe(1);
    expect(await hub.runStatus('run:erin:r1')).toEqual({ status: 'completed', events: RUN_TOKENS });
    expect(tally.of('POST', '/runs/r1', token)).toBe(3);
    await page.close();
  }, 30_000);
});

declare global {
  interface Window {
    clientPage: ClientPage;
  }
}
