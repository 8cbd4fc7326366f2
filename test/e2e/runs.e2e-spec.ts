import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  RequestMethod,
  UseGuards,
} from '@nestjs/common';
import { Subject } from 'rxjs';
import { SseHub, SseRoute, SseRunSignal } from 'nestjs-sse-hub';
import { openSseStream, type SseTestEvent } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

/** What each run's handler was given and yields, by the run's id in the path. */
const feeds = new Map<string, Subject<unknown>>();
const signals = new Map<string, AbortSignal>();
const calls = new Map<string, number>();
/** Async generators that ignore their signal: whether they were returned. */
const returned = new Set<string>();
const pulls = new Map<string, Subject<unknown>>();

function feedOf(id: string): Subject<unknown> {
  let feed = feeds.get(id);
  if (!feed) feeds.set(id, (feed = new Subject()));
  return feed;
}

async function* ignoring(id: string): AsyncGenerator<unknown> {
  const subject = new Subject<unknown>();
  pulls.set(id, subject);
  try {
    const queue: unknown[] = [];
    let wake: (() => void) | undefined;
    subject.subscribe((value) => (queue.push(value), wake?.()));
    for (;;) {
      while (queue.length > 0) yield queue.shift();
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    returned.add(id);
  }
}

/** Only the user in the key may read it: `x-user` must match the path's user. */
@Injectable()
class SameUserGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest();
    if (req.headers['x-user'] !== req.params.user) throw new ForbiddenException('not your answer');
    return true;
  }
}

const keyOf = (req: any) => `answer:${req.params.user}:${req.params.id}`;

@Controller('runs')
class RunsController {
  @SseRoute(':user/:id', {
    method: RequestMethod.POST,
    keepAlive: false,
    resumable: { key: keyOf, maxEvents: 5, ttl: 500 },
  })
  @UseGuards(SameUserGuard)
  start(@SseRunSignal() signal: AbortSignal) {
    return this.produce(signal);
  }

  @SseRoute(':user/:id', { keepAlive: false, resumable: { key: keyOf, create: false } })
  @UseGuards(SameUserGuard)
  resume() {}

  @SseRoute('iter/:user/:id', { method: RequestMethod.POST, keepAlive: false, resumable: { key: keyOf } })
  iter(@SseRunSignal() signal: AbortSignal) {
    return this.produce(signal, true);
  }

  @SseRoute('slow/:user/:id', {
    method: RequestMethod.POST,
    keepAlive: false,
    resumable: { key: keyOf, maxDuration: 300 },
  })
  slow(@SseRunSignal() signal: AbortSignal) {
    return this.produce(signal);
  }

  @SseRoute('bad/key/:id', {
    method: RequestMethod.POST,
    keepAlive: false,
    resumable: { key: (req) => req.query.key },
  })
  bad() {}

  private produce(signal: AbortSignal, iterable = false) {
    const id = String(signal === undefined ? '' : current.id);
    calls.set(id, (calls.get(id) ?? 0) + 1);
    signals.set(id, signal);
    return iterable ? ignoring(id) : feedOf(id).asObservable();
  }
}

/** The run id of the request being handled (set by the test before each start). */
const current = { id: '' };

const post = (t: TestApp, path: string, user: string, headers: Record<string, string> = {}) =>
  openSseStream(t.url, path, { method: 'POST', headers: { 'x-user': user, ...headers } });

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const dataOf = (events: SseTestEvent[]) => events.map((event) => event.data);

describe('resumable runs (in process)', () => {
  let t: TestApp;
  let hub: SseHub;
  beforeAll(async () => {
    t = await startApp({ controllers: [RunsController], providers: [SameUserGuard] });
    hub = t.app.get(SseHub);
  });
  afterAll(() => t.app.close());

  it('one producer per key: the first request runs the handler, the others read the run from its start, live', async () => {
    current.id = '1';
    const first = await post(t, '/runs/ann/1', 'ann');
    feedOf('1').next('a');
    expect((await first.nextEvent()).data).toBe('a');
    const second = await post(t, '/runs/ann/1', 'ann');
    const reader = await openSseStream(t.url, '/runs/ann/1', { headers: { 'x-user': 'ann' } });
    feedOf('1').next({ event: 'token', data: 'b' });
    const a = await second.take(2);
    const b = await reader.take(2);
    expect(dataOf(a)).toEqual(['a', 'b']);
    expect(dataOf(b)).toEqual(['a', 'b']);
    expect(a[1].event).toBe('token');
    expect(a.map((event) => event.id)).toEqual(b.map((event) => event.id));
    expect(calls.get('1')).toBe(1);
    const [run, n1] = a[0].id!.split('-');
    expect(a[1].id).toBe(`${run}-${Number(n1) + 1}`);
    expect((await first.nextEvent()).data).toBe('b');
    expect(await hub.runStatus('answer:ann:1')).toEqual({ status: 'running', events: 2 });
    feedOf('1').complete();
    await Promise.all([first.closed(), second.closed(), reader.closed()]);
    expect(await hub.runStatus('answer:ann:1')).toEqual({ status: 'completed', events: 2 });
    // With its last id: nothing left (EventSource stops); with an older one: the rest, then the end.
    const done = await openSseStream(t.url, '/runs/ann/1', {
      headers: { 'x-user': 'ann', 'last-event-id': a[1].id! },
    });
    expect(done.status).toBe(204);
    const rest = await openSseStream(t.url, '/runs/ann/1', {
      headers: { 'x-user': 'ann', 'last-event-id': a[0].id! },
    });
    expect(dataOf(await rest.take(1))).toEqual(['b']);
    await rest.closed();
    expect(calls.get('1')).toBe(1);
  });

  it('the producer is not the connection: the run goes on without its client, which resumes exactly where it was', async () => {
    current.id = '2';
    const first = await post(t, '/runs/ann/2', 'ann');
    feedOf('2').next('x1');
    const got = await first.nextEvent();
    first.close();
    await until(() => hub.count() === 0, 'the client is gone');
    feedOf('2').next('x2');
    feedOf('2').next('x3');
    expect(signals.get('2')!.aborted).toBe(false);
    const again = await post(t, '/runs/ann/2', 'ann', { 'last-event-id': got.id! });
    expect(dataOf(await again.take(2))).toEqual(['x2', 'x3']);
    feedOf('2').next('x4');
    expect((await again.nextEvent()).data).toBe('x4');
    feedOf('2').complete();
    await again.closed();
    expect(calls.get('2')).toBe(1);
  });

  it("abortRun aborts the producer's signal and ends every reader; the run reads as aborted", async () => {
    current.id = '3';
    const first = await post(t, '/runs/ann/3', 'ann');
    feedOf('3').next('y');
    await first.nextEvent();
    expect(await hub.abortRun('answer:ann:3')).toBe(true);
    await first.closed();
    expect(signals.get('3')!.aborted).toBe(true);
    expect(feedOf('3').observed).toBe(false);
    expect(await hub.runStatus('answer:ann:3')).toEqual({ status: 'aborted', events: 1 });
    expect(await hub.abortRun('answer:ann:3')).toBe(false);
    expect(await hub.abortRun('answer:nobody:0')).toBe(false);
  });

  it('an async iterable that ignores its signal is returned when the run is aborted', async () => {
    current.id = '4';
    const first = await post(t, '/runs/iter/ann/4', 'ann');
    await until(() => pulls.has('4'), 'the generator started');
    pulls.get('4')!.next('z');
    expect((await first.nextEvent()).data).toBe('z');
    await hub.abortRun('answer:ann:4');
    await first.closed();
    // An async generator is returned at its next step: what it yields then is not the run's.
    pulls.get('4')!.next('late');
    await until(() => returned.has('4'), 'the generator was returned');
    expect(await hub.runStatus('answer:ann:4')).toEqual({ status: 'aborted', events: 1 });
  });

  it('a producer that throws: readers get what it produced, then event: error, then the end; status failed', async () => {
    current.id = '5';
    const first = await post(t, '/runs/ann/5', 'ann');
    feedOf('5').next('before');
    feedOf('5').error(new Error('the model fell over'));
    const events = await first.take(2);
    expect(dataOf(events)).toEqual([
      'before',
      JSON.stringify({ statusCode: 500, message: 'Internal server error' }),
    ]);
    expect(events[1].event).toBe('error');
    await first.closed();
    expect(await hub.runStatus('answer:ann:5')).toEqual({ status: 'failed', events: 2 });
    const done = await openSseStream(t.url, '/runs/ann/5', {
      headers: { 'x-user': 'ann', 'last-event-id': events[1].id! },
    });
    expect(done.status).toBe(204);
  });

  it('a value that cannot be encoded (BigInt, a cycle) fails the run with event: error, after what came before', async () => {
    for (const [id, bad] of [
      ['11', { data: { id: 42n } }],
      [
        '12',
        (() => {
          const cycle: Record<string, unknown> = {};
          cycle.self = cycle;
          return cycle;
        })(),
      ],
      ['13', { event: 'bad\nname', data: 'x' }],
    ] as const) {
      current.id = id;
      const first = await post(t, `/runs/ann/${id}`, 'ann');
      feedOf(id).next('ok');
      feedOf(id).next(bad);
      feedOf(id).next('never');
      const events = await first.take(2);
      expect(dataOf(events)[0]).toBe('ok');
      expect(events[1].event).toBe('error');
      await first.closed();
      expect(await hub.runStatus(`answer:ann:${id}`)).toEqual({ status: 'failed', events: 2 });
    }
  });

  it('maxDuration: the signal aborts, readers get event: error, the run fails', async () => {
    current.id = '6';
    const first = await post(t, '/runs/slow/ann/6', 'ann');
    const error = await first.nextEvent();
    expect(error.event).toBe('error');
    await first.closed();
    expect(signals.get('6')!.aborted).toBe(true);
    expect((await hub.runStatus('answer:ann:6'))?.status).toBe('failed');
  });

  it('beyond maxEvents the oldest are trimmed: a reader from the start, or from a trimmed id, gets a resync first', async () => {
    current.id = '7';
    const first = await post(t, '/runs/ann/7', 'ann');
    feedOf('7').next('t1');
    const all = [await first.nextEvent()];
    for (let i = 2; i <= 8; i++) feedOf('7').next(`t${i}`);
    const late = await openSseStream(t.url, '/runs/ann/7', { headers: { 'x-user': 'ann' } });
    const events = await late.take(6);
    expect(events[0].event).toBe('resync');
    expect(dataOf(events.slice(1))).toEqual(['t4', 't5', 't6', 't7', 't8']);
    const behind = await openSseStream(t.url, '/runs/ann/7', {
      headers: { 'x-user': 'ann', 'last-event-id': all[0].id! },
    });
    expect((await behind.nextEvent()).event).toBe('resync');
    expect(dataOf(await behind.take(5))).toEqual(['t4', 't5', 't6', 't7', 't8']);
    feedOf('7').complete();
    await Promise.all([first.closed(), late.closed(), behind.closed()]);
  });

  it("another user's request is refused by the guard, never served from the run", async () => {
    current.id = '8';
    const first = await post(t, '/runs/ann/8', 'ann');
    feedOf('8').next('secret');
    await first.nextEvent();
    const thief = await openSseStream(t.url, '/runs/ann/8', { headers: { 'x-user': 'bob' } });
    expect(thief.status).toBe(403);
    expect(thief.body).not.toContain('secret');
    const thief2 = await post(t, '/runs/ann/8', 'bob');
    expect(thief2.status).toBe(403);
    feedOf('8').complete();
    await first.closed();
  });

  it('no run: a resume-only route answers 204; after its ttl a run is gone, and a start makes a new one', async () => {
    const none = await openSseStream(t.url, '/runs/ann/nothing', { headers: { 'x-user': 'ann' } });
    expect(none.status).toBe(204);
    expect(await hub.runStatus('answer:ann:nothing')).toBeUndefined();
    current.id = '9';
    const first = await post(t, '/runs/ann/9', 'ann');
    feedOf('9').next('old');
    const old = await first.nextEvent();
    feedOf('9').complete();
    await first.closed();
    await until(async () => (await hub.runStatus('answer:ann:9')) === undefined, 'the run expired');
    const gone = await openSseStream(t.url, '/runs/ann/9', {
      headers: { 'x-user': 'ann', 'last-event-id': old.id! },
    });
    expect(gone.status).toBe(204);
    feeds.delete('9');
    const again = await post(t, '/runs/ann/9', 'ann', { 'last-event-id': old.id! });
    // The id names the old run: a resync, then the new run from its start.
    expect((await again.nextEvent()).event).toBe('resync');
    feedOf('9').next('new');
    expect((await again.nextEvent()).data).toBe('new');
    expect(calls.get('9')).toBe(2);
    feedOf('9').complete();
    await again.closed();
  });

  it('a run that ended without an event answers 204 to a reader without an id (EventSource would retry an empty stream)', async () => {
    current.id = '14';
    const first = await post(t, '/runs/ann/14', 'ann');
    await until(() => feeds.has('14'), 'the run started');
    expect(await hub.abortRun('answer:ann:14')).toBe(true);
    await first.closed();
    const none = await openSseStream(t.url, '/runs/ann/14', { headers: { 'x-user': 'ann' } });
    expect(none.status).toBe(204);
    const joined = await post(t, '/runs/ann/14', 'ann');
    expect(joined.status).toBe(204);
    expect(calls.get('14')).toBe(1);
  });

  it('a key no transport can store is a 400 before the stream starts', async () => {
    const bad = await openSseStream(t.url, `/runs/bad/key/1?key=${encodeURIComponent('a\0b')}`, {
      method: 'POST',
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('cannot be a run key');
    const long = await openSseStream(t.url, `/runs/bad/key/1?key=${'k'.repeat(2000)}`, { method: 'POST' });
    expect(long.status).toBe(400);
  });

  it('runs are in stats()', async () => {
    current.id = '10';
    const first = await post(t, '/runs/ann/10', 'ann');
    feedOf('10').next('s');
    await first.nextEvent();
    const stats = hub.stats();
    expect(stats.runs.active).toBe(1);
    expect(stats.runs.running[0]).toMatchObject({ key: 'answer:ann:10', events: 1, readers: 1 });
    expect(stats.runs.finished.completed).toBeGreaterThan(0);
    feedOf('10').complete();
    await first.closed();
    expect(hub.stats().runs.active).toBe(0);
  });
});
