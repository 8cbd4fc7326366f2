import { SseHub } from 'nestjs-sse-hub';
import { followInbox, type InboxView } from '../../docs/examples/src/guide/inbox.client';
import { type InboxNotification } from '../../docs/examples/src/guide/inbox.events';
import { BearerGuard, InboxController, Sessions } from '../../docs/examples/src/guide/inbox.controller';
import { InboxService } from '../../docs/examples/src/guide/inbox.service';
import { startApp, type TestApp } from './support/start-app';

// The page's side of docs/users.md (docs/examples/src/guide/inbox.client.ts, as users copy
// it), run in Node against the guide's controller: its relative URL resolves against the
// app, as a page's would against its origin. What it misses while away comes back on
// reconnect; after a gap the inbox comes again; a logout stops it with a 401.

/**
 * Resolves once `check` holds: checked after every call of the view, and every 10 ms for
 * what has no event of its own (the client's status, the hub's presence).
 */
function until(view: RecordedView, check: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      clearInterval(poll);
      view.changed.delete(test);
      if (error) reject(error);
      else resolve();
    };
    const test = () => {
      if (check()) done();
    };
    const timer = setTimeout(() => done(new Error(`Timed out waiting for ${what}`)), 20_000);
    const poll = setInterval(test, 10);
    view.changed.add(test);
    test();
  });
}

interface RecordedView extends InboxView {
  shown: InboxNotification[];
  loads: number;
  signedOutCalls: number;
  changed: Set<() => void>;
  /** Set to hold the next token back (and so the next reconnect) until it resolves. */
  gate?: Promise<void>;
}

function recordedView(token: () => string): RecordedView {
  const view: RecordedView = {
    shown: [],
    loads: 0,
    signedOutCalls: 0,
    changed: new Set(),
    async token() {
      await view.gate;
      return token();
    },
    show(notifications) {
      view.loads++;
      view.shown = [...notifications];
      for (const check of [...view.changed]) check();
    },
    add(notification) {
      if (!view.shown.some((shown) => shown.id === notification.id)) view.shown.push(notification);
      for (const check of [...view.changed]) check();
    },
    signedOut() {
      view.signedOutCalls++;
      for (const check of [...view.changed]) check();
    },
  };
  return view;
}

describe("the guide's inbox page (docs/users.md), with nestjs-sse-hub/client", () => {
  let t: TestApp;
  let sessions: Sessions;
  let inbox: InboxService;
  let hub: SseHub;
  const realFetch = globalThis.fetch;

  beforeAll(async () => {
    // A short history, so that a device away for four notifications meets a gap.
    t = await startApp(
      { controllers: [InboxController], providers: [InboxService, Sessions, BearerGuard] },
      { retry: 100, history: { size: 2 } },
    );
    sessions = t.app.get(Sessions);
    inbox = t.app.get(InboxService);
    hub = t.app.get(SseHub);
    // The page's origin: its relative URLs resolve against it, as in a browser.
    (globalThis as { location?: { href: string } }).location = { href: `${t.url}/inbox.html` };
    globalThis.fetch = (input, init) => realFetch(new URL(String(input), t.url), init);
  });
  afterAll(async () => {
    delete (globalThis as { location?: unknown }).location;
    globalThis.fetch = realFetch;
    await t.app.close();
    expect(t.logger.errors()).toEqual([]);
  });

  const texts = (view: RecordedView) => view.shown.map((notification) => notification.text);
  const devices = async (user: string) => (await hub.presence({ user })).count;

  it('shows the stored inbox, then live notifications, then what it missed while reconnecting', async () => {
    await inbox.notify('ann', 'stored');
    const token = sessions.signIn('ann');
    const view = recordedView(() => token);
    const stream = followInbox(view);
    try {
      await until(view, () => view.loads === 1 && stream.status === 'open', 'the inbox and the stream');
      await inbox.notify('ann', 'live');
      await inbox.notify('bob', 'for bob');
      await until(view, () => texts(view).includes('live'), 'the live notification');

      // Ann's streams end (closeUser without a revoke): the page reconnects, its token held
      // back until one notification was published meanwhile.
      let release!: () => void;
      view.gate = new Promise((resolve) => (release = resolve));
      await hub.closeUser('ann');
      await until(view, () => stream.status === 'connecting', 'the drop');
      await inbox.notify('ann', 'while away');
      view.gate = undefined;
      release();
      await until(view, () => texts(view).includes('while away'), 'the replayed notification');
      expect(texts(view)).toEqual(['stored', 'live', 'while away']);
      expect(view.loads).toBe(1); // replayed: no second inbox
    } finally {
      stream.close();
    }
  });

  it('gets the whole inbox again after a gap: what it missed is gone from the history', async () => {
    const token = sessions.signIn('cat');
    const view = recordedView(() => token);
    const stream = followInbox(view);
    try {
      await until(view, () => view.loads === 1 && stream.status === 'open', 'the stream');
      await inbox.notify('cat', 'first');
      await until(view, () => texts(view).includes('first'), 'the first notification');
      let release!: () => void;
      view.gate = new Promise((resolve) => (release = resolve));
      await hub.closeUser('cat');
      await until(view, () => stream.status === 'connecting', 'the drop');
      for (const text of ['a', 'b', 'c']) await inbox.notify('cat', text); // the history keeps 2
      view.gate = undefined;
      release();
      await until(view, () => view.loads === 2, 'the inbox again, after the resync');
      expect(texts(view)).toEqual(['first', 'a', 'b', 'c']);
    } finally {
      stream.close();
    }
  });

  it('stops on the 401 after a logout: closed, with no stream left', async () => {
    const token = sessions.signIn('dan');
    const view = recordedView(() => token);
    const stream = followInbox(view);
    await until(view, () => stream.status === 'open', 'the stream');
    expect(await devices('dan')).toBe(1);
    const logout = await fetch('/notifications/logout', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(logout.status).toBe(204);
    await until(view, () => view.signedOutCalls === 1, 'the sign-out');
    expect(stream.status).toBe('closed');
    expect(await devices('dan')).toBe(0);
  });
});
