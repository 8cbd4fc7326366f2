import { openSseStream, type SseTestStream } from 'nestjs-sse-hub/testing';
import { BearerGuard, InboxController, Sessions } from '../../docs/examples/src/guide/inbox.controller';
import { InboxService } from '../../docs/examples/src/guide/inbox.service';
import { startApp, type TestApp } from './support/start-app';

// The notifications recipe of docs/users.md as users copy it (docs/examples), driven as
// its pages would be: a per-user inbox, its replay, a retried publish, the device limit
// and a logout. Bob plays the attacker with Ann's event ids.
describe("the guide's notifications (docs/users.md)", () => {
  let t: TestApp;
  let sessions: Sessions;
  let inbox: InboxService;

  beforeAll(async () => {
    t = await startApp({ controllers: [InboxController], providers: [InboxService, Sessions, BearerGuard] });
    sessions = t.app.get(Sessions);
    inbox = t.app.get(InboxService);
  });
  afterAll(async () => {
    await t.app.close();
    expect(t.logger.errors()).toEqual([]);
  });

  const open = (token: string | undefined, lastEventId?: string) =>
    openSseStream(t.url, '/notifications/events', {
      headers: {
        ...(token !== undefined && { authorization: `Bearer ${token}` }),
        ...(lastEventId !== undefined && { 'last-event-id': lastEventId }),
      },
    });
  const call = (token: string, method: string, path: string) =>
    fetch(`${t.url}/notifications${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  const textOf = async (stream: SseTestStream) => JSON.parse((await stream.nextEvent()).data).text as string;
  /** The `inbox` event a stream starts with: the texts of the stored notifications. */
  const inboxOf = async (stream: SseTestStream) => {
    const event = await stream.nextEvent();
    expect(event.event).toBe('inbox');
    return (JSON.parse(event.data) as Array<{ text: string }>).map((notification) => notification.text);
  };

  it("reaches every device of its recipient and no one else's stream", async () => {
    const ann = sessions.signIn('ann-1');
    const bob = sessions.signIn('bob-1');
    const [phone, laptop, bobs] = await Promise.all([open(ann), open(ann), open(bob)]);
    expect([phone.status, laptop.status, bobs.status]).toEqual([200, 200, 200]);
    for (const stream of [phone, laptop, bobs]) expect(await inboxOf(stream)).toEqual([]);
    expect(await (await call(ann, 'GET', '/devices')).json()).toEqual({ count: 2 });

    await inbox.notify('ann-1', 'for ann');
    await inbox.notify('bob-1', 'for bob');
    expect([await textOf(phone), await textOf(laptop)]).toEqual(['for ann', 'for ann']);
    // Bob's first event is his own: Ann's, published before it, never reached him.
    expect(await textOf(bobs)).toBe('for bob');
    // A third device starts with the inbox as stored: Ann's, not Bob's.
    const tablet = await open(ann);
    expect(await inboxOf(tablet)).toEqual(['for ann']);
    for (const stream of [phone, laptop, bobs, tablet]) stream.close();
  });

  it("replays a reconnect its user's missed notifications only, whoever's ids it brings", async () => {
    const ann = sessions.signIn('ann-2');
    const bob = sessions.signIn('bob-2');
    const first = await open(ann);
    expect(await inboxOf(first)).toEqual([]);
    await inbox.notify('ann-2', 'seen');
    const seen = await first.nextEvent();
    first.close();
    await inbox.notify('ann-2', 'missed 1');
    await inbox.notify('bob-2', 'bob missed');
    await inbox.notify('ann-2', 'missed 2');

    // A complete replay: what it missed, and no inbox (it has the rest).
    const back = await open(ann, seen.id);
    expect(back.status).toBe(200);
    expect([await textOf(back), await textOf(back)]).toEqual(['missed 1', 'missed 2']);
    // An id the history does not have: a resync, then the inbox as stored, Ann's alone.
    const lost = await open(ann, '1-0');
    expect((await lost.nextEvent()).event).toBe('resync');
    expect(await inboxOf(lost)).toEqual(['seen', 'missed 1', 'missed 2']);
    // Bob reconnects with the id of Ann's event: he gets what he missed, nothing of Ann's.
    const attacker = await open(bob, seen.id);
    expect(await textOf(attacker)).toBe('bob missed');
    await inbox.notify('bob-2', 'live');
    expect(await textOf(attacker)).toBe('live');
    // Without a token, the guard answers before any stream.
    expect((await open(undefined)).status).toBe(401);
    for (const stream of [back, lost, attacker]) stream.close();
  });

  it('delivers a retried publish of one notification once', async () => {
    const ann = sessions.signIn('ann-3');
    const stream = await open(ann);
    expect(await inboxOf(stream)).toEqual([]);
    const notification = await inbox.notify('ann-3', 'once');
    await inbox.publish('ann-3', notification); // the job ran twice
    await inbox.notify('ann-3', 'next');
    expect([await textOf(stream), await textOf(stream)]).toEqual(['once', 'next']);
    stream.close();
  });

  it('counts streams per user: past the limit, a 429 for that user alone', async () => {
    const ann = sessions.signIn('ann-4');
    const streams = await Promise.all(Array.from({ length: 10 }, () => open(ann)));
    expect(streams.map((stream) => stream.status)).toEqual(Array(10).fill(200));
    const eleventh = await open(ann);
    expect(eleventh.status).toBe(429);
    expect(eleventh.headers['retry-after']).toBe('5');
    const bobs = await open(sessions.signIn('bob-4'));
    expect(bobs.status).toBe(200);
    for (const stream of [...streams, bobs]) stream.close();
  });

  it("logs out: every stream of the user ends, the reconnect is refused, others' go on", async () => {
    const ann = sessions.signIn('ann-5');
    const bob = sessions.signIn('bob-5');
    const [phone, laptop, bobs] = await Promise.all([open(ann), open(ann), open(bob)]);
    expect((await call(ann, 'POST', '/logout')).status).toBe(204);
    await Promise.all([phone.closed(), laptop.closed()]);
    expect((await open(ann)).status).toBe(401);
    await inbox.notify('bob-5', 'still here');
    expect(await inboxOf(bobs)).toEqual([]);
    expect(await textOf(bobs)).toBe('still here');
    expect(bobs.ended).toBe(false);
    bobs.close();
  });
});
