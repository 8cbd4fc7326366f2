import {
  BadRequestException,
  Controller,
  Query,
  Param,
  type PipeTransform,
  RequestMethod,
} from '@nestjs/common';
import { once } from 'node:events';
import { connect } from 'node:net';
import { EventSource } from 'eventsource';
import { defer, Observable, of, Subject, throwError } from 'rxjs';
import { type SseClient, type SseGateway, SseHub, SseRoute, SseRunSignal } from 'nestjs-sse-hub';
import {
  openSseStream,
  type OpenSseStreamOptions,
  type SseTestEvent,
  type SseTestStream,
} from 'nestjs-sse-hub/testing';
import { drop, rawRequest, readResponseHead, readUntil } from './support/raw-http';
import { findRedisServer, RedisServer } from './support/redis-server';
import { dataOf, rest, turn, until } from './support/run-streams';
import { platform, startApp, type TestApp } from './support/start-app';
import { RedisStreamsTransport } from 'nestjs-sse-hub/redis';

/**
 * Resumable runs attacked from outside, as a hostile client and a careless app would:
 * readers joining a fast run at any moment with any Last-Event-ID, handlers that abort
 * themselves or fail in every way a source can, odd request shapes, large events, and
 * (runs-memory: thousands of short runs). Each reader must get each event once, in order (a resync
 * before any jump), and its stream must end right after the run's.
 */

type Behaviour = (signal: AbortSignal, hub: SseHub, key: string) => unknown;
/** What each run's handler does, by the id in its path (set by the test before it starts the run). */
const behaviours = new Map<string, Behaviour>();
const calls = new Map<string, number>();
const keyOf = (req: any) => `x:${req.params.id}`;
/** Longer than a timer of Node can wait (2^31 - 1 ms, about 24.8 days). */
const MONTH = 31 * 24 * 3600_000;

@Controller('x')
class AttackController {
  constructor(private readonly hub: SseHub) {}

  @SseRoute(':id', { method: RequestMethod.POST, keepAlive: false, retry: 20, resumable: { key: keyOf } })
  start(@Param('id') id: string, @SseRunSignal() signal: AbortSignal) {
    calls.set(id, (calls.get(id) ?? 0) + 1);
    const behaviour = behaviours.get(id);
    if (!behaviour) throw new Error(`no behaviour for ${id}`);
    return behaviour(signal, this.hub, `x:${id}`);
  }

  @SseRoute(':id', { keepAlive: false, retry: 20, resumable: { key: keyOf, create: false } })
  resume() {}

  @SseRoute('long/:id', {
    method: RequestMethod.POST,
    keepAlive: false,
    resumable: { key: keyOf, maxDuration: MONTH, ttl: MONTH },
  })
  long(@Param('id') id: string, @SseRunSignal() signal: AbortSignal) {
    return this.start(id, signal);
  }

  @SseRoute('small/:id', {
    method: RequestMethod.POST,
    keepAlive: false,
    maxEventBytes: 50_000,
    resumable: { key: keyOf, maxEvents: 20, maxBytes: 1000 },
  })
  small(@Param('id') id: string, @SseRunSignal() signal: AbortSignal) {
    return this.start(id, signal);
  }
}

/** Holds a request with `?gate=block` until the test opens the gate, then refuses it (400). */
const gate: { entered: boolean; open?: () => void } = { entered: false };
class GatePipe implements PipeTransform {
  async transform(value: unknown) {
    if (value !== 'block') return value;
    gate.entered = true;
    await new Promise<void>((resolve) => (gate.open = resolve));
    throw new BadRequestException('refused after a while');
  }
}

@Controller('gated')
class GatedController {
  @SseRoute(':id', { method: RequestMethod.POST, keepAlive: false, resumable: { key: keyOf } })
  start(@Param('id') id: string, @Query('gate', GatePipe) _gate: string) {
    calls.set(id, (calls.get(id) ?? 0) + 1);
    return of('produced');
  }
}

/** A gateway whose hooks reach for the run of their own request. */
const hookLog: unknown[] = [];
const gatewayFeeds = new Map<string, Subject<unknown>>();
@Controller('g')
class HookController implements SseGateway {
  constructor(private readonly hub: SseHub) {}

  @SseRoute(':id', {
    method: RequestMethod.POST,
    keepAlive: false,
    resumable: { key: (req) => `g:${req.params.id}` },
  })
  start(@Param('id') id: string) {
    const feed = new Subject<unknown>();
    gatewayFeeds.set(id, feed);
    return feed;
  }

  async onJoin(client: SseClient) {
    const id = (client.request as any).params.id as string;
    if (id.startsWith('abort')) hookLog.push(['join-abort', id, await this.hub.abortRun(`g:${id}`)]);
    hookLog.push(['join-status', id, await this.hub.runStatus(`g:${id}`)]);
  }

  async onClose(client: SseClient) {
    const id = (client.request as any).params.id as string;
    hookLog.push(['close-status', id, await this.hub.runStatus(`g:${id}`)]);
  }
}

/** A Subject-fed run whose values the test pushes. */
function fed(id: string): Subject<unknown> {
  const feed = new Subject<unknown>();
  behaviours.set(id, () => feed);
  return feed;
}

/**
 * Checks what one reader got of a run of `total` events `e1..eN`: after `after` (0: from
 * the start), each once, in order, with the run's ids, preceded by a resync when
 * `resync`, and nothing after the last.
 */
function expectRun(events: SseTestEvent[], run: string, total: number, after: number, resync: boolean) {
  const body = resync ? events.slice(1) : events;
  if (resync) expect(events[0]?.event).toBe('resync');
  expect(body.filter((event) => event.event === 'resync')).toEqual([]);
  const expected = Array.from({ length: total - after }, (_, i) => after + i + 1);
  expect(body.map((event) => event.id)).toEqual(expected.map((n) => `${run}-${n}`));
  expect(dataOf(body)).toEqual(expected.map((n) => `e${n}`));
}

/** Opens a stream on the app (or, across instances, on the one `reader` picks). */
type Opener = (path: string, options: OpenSseStreamOptions, reader: number) => Promise<SseTestStream>;

/**
 * A fast run (`e1..e3000`, in bursts of up to 200 in one turn and single events a turn
 * each) joined at every round by a reader with another kind of Last-Event-ID, half of
 * them POSTs, and two more once it ended: each must get exactly its part, then the end.
 */
async function attackOrdering(open: Opener, id: string): Promise<void> {
  // Another run's id, for a reader that brings one.
  const otherFeed = fed(`${id}-other`);
  const other = await open(`/x/${id}-other`, { method: 'POST' }, 0);
  otherFeed.next('o');
  const otherId = (await other.nextEvent()).id!;
  otherFeed.complete();
  await other.closed();

  const total = 3000;
  const feed = fed(id);
  const starter = await open(`/x/${id}`, { method: 'POST' }, 0);
  feed.next('e1');
  const first = await starter.nextEvent();
  const run = first.id!.split('-')[0];
  type Reader = { stream: Promise<SseTestStream>; after: number; resync: boolean; label: string };
  const readers: Reader[] = [];
  const join = (label: string, after: number, resync: boolean, lastEventId?: string, query?: string) =>
    readers.push({
      label,
      after,
      resync,
      stream: open(
        `/x/${id}${query ?? ''}`,
        {
          method: readers.length % 2 ? 'POST' : 'GET',
          headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId },
        },
        readers.length,
      ),
    });
  let n = 1;
  let round = 0;
  while (n < total) {
    // A burst of events in one turn, then a few one turn each.
    const burst = Math.min(total - n, 1 + ((round * 37) % 200));
    for (let i = 0; i < burst; i++) feed.next(`e${++n}`);
    for (let i = 0; i < 3 && n < total; i++) {
      await turn();
      feed.next(`e${++n}`);
    }
    // The last id its starter has got: one a client can have (what it has not got may not be stored yet).
    const last = starter.received.filter((message) => message.type === 'event').at(-1) as SseTestEvent;
    const seen = Number(last.id!.split('-')[1]);
    switch (round++ % 12) {
      case 0:
        join('no id', 0, false);
        break;
      case 1:
        join(`known ${seen}`, seen, false, `${run}-${seen}`);
        break;
      case 2:
        join('another run', 0, true, otherId);
        break;
      case 3:
        join('number 0', 0, true, `${run}-0`);
        break;
      case 4:
        join('far ahead', 0, true, `${run}-99999999`);
        break;
      case 5:
        join('garbage', 0, true, 'garbage, not an id');
        break;
      case 6:
        join('very long', 0, true, `${run}-1${'0'.repeat(8000)}`);
        break;
      case 7:
        join('NUL in the query', 0, true, undefined, `?lastEventId=${encodeURIComponent(`${run}-1\0`)}`);
        break;
      case 8:
        join(`query ${seen}`, seen, false, undefined, `?lastEventId=${run}-${seen}`);
        break;
      case 9:
        // The header wins over the query.
        join(`header over query ${seen}`, seen, false, `${run}-${seen}`, `?lastEventId=garbage`);
        break;
      case 10:
        join('unsafe number', 0, true, `${run}-99999999999999999`);
        break;
      case 11:
        join(`known 1`, 1, false, first.id!);
        break;
    }
  }
  feed.complete();
  const starterGot = [first, ...(await rest(starter))];
  // Readers that come once it has ended: the same, then the end; the last id has nothing left.
  join('after the end', 0, false);
  join(`after the end, ${total - 5}`, total - 5, false, `${run}-${total - 5}`);
  const got = await Promise.all(
    readers.map(async (reader) => ({ reader, events: await rest(await reader.stream) })),
  );
  expectRun(starterGot, run, total, 0, false);
  for (const { reader, events } of got) {
    try {
      expectRun(events, run, total, reader.after, reader.resync);
    } catch (error) {
      throw new Error(`reader "${reader.label}": ${(error as Error).message}`);
    }
  }
  expect((await open(`/x/${id}`, { headers: { 'last-event-id': `${run}-${total}` } }, 1)).status).toBe(204);
  expect(calls.get(id)).toBe(1);
}

describe('resumable runs under attack (in process)', () => {
  let t: TestApp;
  let hub: SseHub;
  const streams: SseTestStream[] = [];
  const open = async (path: string, options: Parameters<typeof openSseStream>[2] = {}) => {
    const stream = await openSseStream(t.url, path, { timeout: 10_000, ...options });
    streams.push(stream);
    return stream;
  };
  const post = (path: string, lastEventId?: string) =>
    open(path, {
      method: 'POST',
      headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId },
    });
  const get = (path: string, lastEventId?: string) =>
    open(path, { headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId } });

  beforeAll(async () => {
    t = await startApp({ controllers: [AttackController, HookController, GatedController] });
    hub = t.app.get(SseHub);
  });
  afterEach(() => {
    for (const stream of streams.splice(0)) stream.close();
  });
  afterAll(() => t.app.close());

  describe('ordering and exactly-once', () => {
    it('readers joining a fast run at random moments, with every kind of Last-Event-ID, get each event once, in order', () =>
      attackOrdering((path, options) => open(path, options), 'fast'));

    it('a client coming back with each id of a trimmed run that ended gets exactly the rest: a resync first for a trimmed one', async () => {
      const feed = fed('each');
      const starter = await open('/x/small/each', { method: 'POST' });
      // One at a time, so that its starter gets (and has the id of) each.
      const ids: string[] = [];
      for (let i = 1; i <= 60; i++) {
        feed.next(`e${i}`);
        ids.push((await starter.nextEvent()).id!);
      }
      feed.complete();
      await starter.closed();
      const run = ids[0].split('-')[0];
      // The run keeps its last 20 (maxEvents): 41..60.
      for (let k = 1; k < 60; k++) {
        const events = await rest(await get('/x/each', `${run}-${k}`));
        const kept = Math.max(k, 40);
        const expected = Array.from({ length: 60 - kept }, (_, i) => `e${kept + i + 1}`);
        if (k < 40) {
          expect([k, events[0].event, JSON.parse(events[0].data).dropped]).toEqual([k, 'resync', 40 - k]);
          events.shift();
        }
        expect([k, dataOf(events)]).toEqual([k, expected]);
        expect(events.map((event) => event.id)).toEqual(expected.map((data) => `${run}-${data.slice(1)}`));
      }
      expect((await get('/x/each', `${run}-60`)).status).toBe(204);
    });

    it('a burst of 10,000 small events in one turn reaches a reader that reads, whole, at the default bounds', async () => {
      const total = 10_000;
      const feed = fed('burst');
      const starter = await post('/x/burst');
      const live = await get('/x/burst');
      await until(() => hub.stats().runs.readers === 2, 'both read');
      // 10,000 events of 99 bytes: within maxBytes (1 MiB), so none is trimmed, but more
      // than maxPendingBytes (1 MiB) once each has its id.
      const pad = 'p'.repeat(86);
      for (let i = 1; i <= total; i++) feed.next(`${pad}${i}`);
      feed.complete();
      for (const events of await Promise.all([rest(starter), rest(live), rest(await get('/x/burst'))])) {
        expect(events.filter((event) => event.event === 'resync')).toEqual([]);
        expect(events).toHaveLength(total);
        expect(events.at(-1)!.data).toBe(`${pad}${total}`);
      }
    });

    it('a reader catching up on a run kept at its default maxBytes gets it whole (the page is paced, not one write)', async () => {
      // 300 events of ~4 KiB: the run keeps 1 MiB of them, which with their ids is more than
      // the stream's default maxPendingBytes (1 MiB) in one turn.
      const feed = fed('big');
      const starter = await post('/x/big');
      const chunk = 'b'.repeat(4090);
      for (let i = 1; i <= 300; i++) feed.next(`${i}:${chunk}`);
      feed.complete();
      await starter.closed();
      const late = await rest(await get('/x/big'));
      expect(late[0].event).toBe('resync');
      expect(late.length).toBeGreaterThan(200);
      expect(late.at(-1)!.data).toBe(`300:${chunk}`);
    });
  });

  describe('re-entrancy', () => {
    it('a handler that aborts its own run before it returns: the run is aborted, and counted so', async () => {
      const before = hub.stats().runs.finished;
      behaviours.set('self-sync', (_signal, theHub, key) => {
        void theHub.abortRun(key);
        return of('a', 'b');
      });
      const starter = await post('/x/self-sync');
      const events = await rest(starter);
      expect(events.filter((event) => event.event === 'error')).toEqual([]);
      expect((await hub.runStatus('x:self-sync'))?.status).toBe('aborted');
      const after = hub.stats().runs.finished;
      expect(after.aborted).toBe(before.aborted + 1);
      expect(after.completed).toBe(before.completed);
      expect(after.failed).toBe(before.failed);
    });

    it('a handler that aborts its own run in its first value: the signal aborts, the generator is returned', async () => {
      let returned = false;
      let signalOf: AbortSignal | undefined;
      behaviours.set('self-first', (signal, theHub, key) => {
        signalOf = signal;
        return (async function* () {
          try {
            yield 'a';
            await theHub.abortRun(key);
            yield 'b';
            yield 'c';
          } finally {
            returned = true;
          }
        })();
      });
      const events = await rest(await post('/x/self-first'));
      expect(dataOf(events)).toEqual(['a']);
      await until(() => returned, 'the generator was returned');
      expect(signalOf!.aborted).toBe(true);
      expect(await hub.runStatus('x:self-first')).toEqual({ status: 'aborted', events: 1 });
    });

    it("onJoin aborting its own request's run ends the stream with no error; onClose reads the run's status", async () => {
      const starter = await openSseStream(t.url, '/g/abort1', { method: 'POST' });
      streams.push(starter);
      const events = await rest(starter);
      expect(events.filter((event) => event.event === 'error')).toEqual([]);
      expect(await hub.runStatus('g:abort1')).toEqual({ status: 'aborted', events: 0 });
      expect(gatewayFeeds.get('abort1')!.observed).toBe(false);
      await until(() => hookLog.some((entry: any) => entry[0] === 'close-status'), 'onClose ran');
      expect(hookLog).toEqual([
        ['join-abort', 'abort1', true],
        ['join-status', 'abort1', { status: 'aborted', events: 0 }],
        ['close-status', 'abort1', { status: 'aborted', events: 0 }],
      ]);
    });

    it('abortRun racing the completion, and two abortRuns at once: one wins, and all agree on which', async () => {
      for (let i = 0; i < 20; i++) {
        const id = `race${i}`;
        const feed = fed(id);
        const before = hub.stats().runs.finished;
        const starter = await post(`/x/${id}`);
        feed.next('v');
        await starter.nextEvent();
        const aborts = i % 2 ? [hub.abortRun(`x:${id}`), hub.abortRun(`x:${id}`)] : [];
        feed.complete();
        if (i % 2 === 0) aborts.push(hub.abortRun(`x:${id}`), hub.abortRun(`x:${id}`));
        const results = await Promise.all(aborts);
        const events = await rest(starter);
        expect(events.filter((event) => event.event === 'error')).toEqual([]);
        const status = (await hub.runStatus(`x:${id}`))!.status as 'completed' | 'aborted';
        expect(results.filter(Boolean).length).toBe(status === 'aborted' ? 1 : 0);
        await until(() => hub.stats().runs.active === 0, 'the producer ended');
        const after = hub.stats().runs.finished;
        expect(after[status]).toBe(before[status] + 1);
      }
    });

    it('a request that joined a run whose starter was then refused by a pipe is not left waiting forever', async () => {
      const refused = openSseStream(t.url, '/gated/gated1?gate=block', { method: 'POST' });
      await until(() => gate.entered, 'the starter is held in its pipe');
      const joiner = await open('/gated/gated1', { method: 'POST', timeout: 3000 });
      expect(joiner.status).toBe(200);
      await until(() => hub.stats().runs.readers === 1, 'the joiner reads the run');
      gate.open!();
      expect((await refused).status).toBe(400);
      // The run it joined is gone: its stream says so and ends, rather than waiting for nothing.
      const events = await rest(joiner);
      expect(events.map((event) => event.event)).toEqual(['error']);
      expect(calls.get('gated1')).toBeUndefined();
      // A new start runs the handler.
      expect(dataOf(await rest(await open('/gated/gated1', { method: 'POST' })))).toEqual(['produced']);
      expect(calls.get('gated1')).toBe(1);
    });

    it('every way a source can fail: readers get event: error, the run fails', async () => {
      const failing: Record<string, Behaviour> = {
        'rejected-promise': () => Promise.reject(new Error('no')),
        'promise-of-erroring': () => Promise.resolve(throwError(() => new Error('no'))),
        'errors-on-subscribe': () =>
          new Observable(() => {
            throw new Error('no');
          }),
        'throw-error': () => throwError(() => new Error('no')),
        'next-throws': () => ({
          [Symbol.asyncIterator]: () => ({
            next: () => {
              throw new Error('no');
            },
          }),
        }),
        'next-rejects': () => ({
          [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('no')) }),
        }),
        'iterator-throws': () => ({
          [Symbol.asyncIterator]: () => {
            throw new Error('no');
          },
        }),
        'defer-throws': () =>
          defer(() => {
            throw new Error('no');
          }),
      };
      for (const [id, behaviour] of Object.entries(failing)) {
        behaviours.set(id, behaviour);
        const events = await rest(await post(`/x/${id}`));
        expect([id, events.map((event) => event.event)]).toEqual([id, ['error']]);
        expect([id, await hub.runStatus(`x:${id}`)]).toEqual([id, { status: 'failed', events: 1 }]);
      }
    });

    it('a plain value is one event then the end; an array is one value; undefined is a run with no event', async () => {
      behaviours.set('plain', () => 'hello');
      expect(dataOf(await rest(await post('/x/plain')))).toEqual(['hello']);
      expect(await hub.runStatus('x:plain')).toEqual({ status: 'completed', events: 1 });
      behaviours.set('array', () => [1, 2]);
      expect(dataOf(await rest(await post('/x/array')))).toEqual(['[1,2]']);
      behaviours.set('promise', () => Promise.resolve('later'));
      expect(dataOf(await rest(await post('/x/promise')))).toEqual(['later']);
      behaviours.set('nothing', () => undefined);
      const nothing = await post('/x/nothing');
      expect(nothing.status).toBe(200);
      expect(await rest(nothing)).toEqual([]);
      expect(await hub.runStatus('x:nothing')).toEqual({ status: 'completed', events: 0 });
    });

    it('a run with no event that ended leaves nothing to read: 204, so EventSource stops', async () => {
      behaviours.set('empty', () => undefined);
      await rest(await post('/x/empty'));
      expect((await get('/x/empty')).status).toBe(204);
      // With an id of no event of it either: nothing would follow the resync.
      expect((await get('/x/empty', 'garbage')).status).toBe(204);
    });
  });

  describe('request shapes', () => {
    // Known, not fixed here: HEAD is answered 200 before the run is looked up (see the review's report).
    it('HEAD answers what a GET would: 204 where there is no run, and starts nothing', async () => {
      const head = await open('/x/none-for-head', { method: 'HEAD' });
      const getting = await get('/x/none-for-head');
      expect(getting.status).toBe(204);
      expect(head.status).toBe(204);
      expect(await hub.runStatus('x:none-for-head')).toBeUndefined();
    });

    // The second is refused (400, with why) as queued behind what may become a stream: while the
    // first looks its run up, the server cannot know it ends as a 204. Answered, never left hanging.
    it('pipelined requests behind a resumable GET are each answered: 204, then a 400 that says why', async () => {
      const socket = connect(Number(new URL(t.url).port), '127.0.0.1');
      await once(socket, 'connect');
      socket.write(rawRequest('GET', '/x/none-a') + rawRequest('GET', '/x/none-b'));
      const text = await readUntil(socket, (read) => /pipelined behind one/.test(read));
      expect(text.match(/HTTP\/1\.1 \d+/g)).toEqual(['HTTP/1.1 204', 'HTTP/1.1 400']);
      drop(socket);
    });

    it('a client that resets right after its POST: the run starts and goes on; a reader gets all of it', async () => {
      const feed = fed('reset');
      let signalOf: AbortSignal | undefined;
      behaviours.set('reset', (signal) => ((signalOf = signal), feed));
      const socket = connect(Number(new URL(t.url).port), '127.0.0.1');
      await once(socket, 'connect');
      socket.write(rawRequest('POST', '/x/reset'));
      drop(socket);
      await until(() => calls.get('reset') === 1 && feed.observed, 'the run started');
      feed.next('kept');
      feed.complete();
      expect(signalOf!.aborted).toBe(false);
      expect(dataOf(await rest(await get('/x/reset')))).toEqual(['kept']);
      expect(await hub.runStatus('x:reset')).toEqual({ status: 'completed', events: 1 });
    });

    it('a client that never reads is cut off as a slow consumer; the run goes on to its end', async () => {
      const feed = fed('stuck');
      let signalOf: AbortSignal | undefined;
      behaviours.set('stuck', (signal) => ((signalOf = signal), feed));
      const socket = connect(Number(new URL(t.url).port), '127.0.0.1');
      await once(socket, 'connect');
      socket.write(rawRequest('POST', '/x/stuck'));
      const head = await readResponseHead(socket);
      expect(head.status).toBe(200);
      socket.pause();
      const chunk = 'z'.repeat(10_000);
      for (let i = 0; i < 50 && hub.stats().runs.readers > 0; i++) {
        for (let j = 0; j < 50; j++) feed.next(chunk);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await until(() => hub.stats().runs.readers === 0, 'the stuck client was cut off');
      expect(signalOf!.aborted).toBe(false);
      feed.next('end');
      feed.complete();
      await until(async () => (await hub.runStatus('x:stuck'))?.status === 'completed', 'the run completed');
      drop(socket);
    });
  });

  describe('bounds', () => {
    it('an event larger than maxBytes alone is kept (the newest), then trimmed with a resync', async () => {
      const feed = fed('huge');
      const starter = await open('/x/small/huge', { method: 'POST' });
      const huge = 'h'.repeat(5000);
      feed.next(huge);
      expect((await starter.nextEvent()).data).toBe(huge);
      const late = await get('/x/huge');
      expect((await late.nextEvent()).data).toBe(huge);
      feed.next('small');
      feed.complete();
      expect(dataOf(await rest(late))).toEqual(['small']);
      const after = await rest(await get('/x/huge'));
      expect(after.map((event) => event.event ?? event.data)).toEqual(['resync', 'small']);
    });

    it('a maxDuration and a ttl of a month: the run neither fails at once nor is let go as it ends', async () => {
      const feed = fed('month');
      let signalOf: AbortSignal | undefined;
      behaviours.set('month', (signal) => ((signalOf = signal), feed));
      const starter = await open('/x/long/month', { method: 'POST' });
      feed.next('a');
      expect((await starter.nextEvent()).data).toBe('a');
      // What must not happen has no event to await: a timer past Node's limit fires after 1 ms.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(signalOf!.aborted).toBe(false);
      expect(await hub.runStatus('x:month')).toEqual({ status: 'running', events: 1 });
      feed.complete();
      await starter.closed();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await hub.runStatus('x:month')).toEqual({ status: 'completed', events: 1 });
    });

    it("an event past the route's maxEventBytes fails the run after what came before, never a silent hole", async () => {
      const feed = fed('too-big');
      const starter = await open('/x/small/too-big', { method: 'POST' });
      feed.next('ok');
      feed.next('t'.repeat(60_000));
      feed.next('after');
      const events = await rest(starter);
      expect(events.map((event) => event.event ?? event.data)).toEqual(['ok', 'error']);
      expect((await hub.runStatus('x:too-big'))?.status).toBe('failed');
    });
  });

  describe('the 204s and EventSource', () => {
    /** An EventSource on the app, counting its connections. */
    function eventSource(path: string) {
      const connections: number[] = [];
      const source = new EventSource(`${t.url}${path}`, {
        fetch: (input, init) =>
          fetch(input, init).then((response) => (connections.push(response.status), response)),
      });
      const data: string[] = [];
      source.onmessage = (event) => data.push(event.data);
      return { source, data, connections };
    }

    it('EventSource following a run stops after the run ends', async () => {
      const feed = fed('es-end');
      const starter = await post('/x/es-end');
      feed.next('one');
      await starter.nextEvent();
      const { source, data, connections } = eventSource('/x/es-end');
      await until(() => data.length === 1, 'it read the first event');
      feed.next('two');
      feed.complete();
      await until(() => source.readyState === EventSource.CLOSED, 'it stopped');
      expect(data).toEqual(['one', 'two']);
      expect(connections).toEqual([200, 204]);
    });

    it('EventSource following a run that fails, or is aborted, stops after its end too', async () => {
      for (const [id, end] of [
        ['es-fail', (feed: Subject<unknown>) => feed.error(new Error('no'))],
        ['es-abort', () => void hub.abortRun('x:es-abort')],
      ] as const) {
        const feed = fed(id);
        const starter = await post(`/x/${id}`);
        feed.next('one');
        await starter.nextEvent();
        const { source, data, connections } = eventSource(`/x/${id}`);
        await until(() => data.length === 1, 'it read the first event');
        end(feed);
        await until(() => source.readyState === EventSource.CLOSED, `${id}: it stopped`);
        expect([id, connections]).toEqual([id, [200, 204]]);
      }
    });

    it('EventSource on a run that ended with no event stops at once', async () => {
      behaviours.set('es-empty', () => undefined);
      await rest(await post('/x/es-empty'));
      const { source, connections } = eventSource('/x/es-empty');
      await until(() => source.readyState === EventSource.CLOSED || connections.length >= 5, 'it stopped');
      source.close();
      expect(connections).toEqual([204]);
    });

    it('EventSource resumes where it was after hub.close() mid-run', async () => {
      const feed = fed('es-close');
      const starter = await post('/x/es-close');
      const { source, data, connections } = eventSource('/x/es-close');
      await until(() => hub.stats().runs.readers === 2, 'it follows');
      feed.next('one');
      await until(() => data.length === 1, 'it read one');
      const client = hub.clients().find((c) => (c.request as any)?.method === 'GET');
      expect(client).toBeDefined();
      await hub.close(client!.id);
      feed.next('two');
      await until(() => connections.length === 2 && hub.stats().runs.readers === 2, 'it came back');
      feed.next('three');
      feed.complete();
      await until(() => source.readyState === EventSource.CLOSED, 'it stopped');
      expect(data).toEqual(['one', 'two', 'three']);
      expect(connections).toEqual([200, 200, 204]);
      await rest(starter);
    });
  });
});

const redisServer = findRedisServer();
if (!redisServer && process.env.CI)
  throw new Error(
    'redis-server is missing and CI needs it: run `npm test` as root so ensure-tools.sh installs it.',
  );

// The transport's part is the same on every platform: declared on the first row only (Express).
const onRedis = platform() === 'express' ? (redisServer ? describe : describe.skip) : () => undefined;
onRedis('resumable runs under attack (Redis, two instances)', () => {
  let redis: RedisServer;
  const apps: TestApp[] = [];
  const streams: SseTestStream[] = [];
  beforeAll(async () => {
    redis = await RedisServer.start(redisServer);
    const stream = `attacks-${process.pid}`;
    for (let i = 0; i < 2; i++) {
      const transport = new RedisStreamsTransport({ url: redis.url, stream });
      apps.push(await startApp({ controllers: [AttackController] }, { transport }));
      await transport.ready();
    }
  });
  afterEach(() => {
    for (const stream of streams.splice(0)) stream.close();
  });
  afterAll(async () => {
    for (const app of apps) await app.app.close();
    await redis?.stop();
  });

  it('readers on either instance, joining a fast run at random moments with every kind of Last-Event-ID, get each event once, in order', () =>
    attackOrdering(async (path, options, reader) => {
      const stream = await openSseStream(apps[reader % 2].url, path, { timeout: 15_000, ...options });
      streams.push(stream);
      return stream;
    }, 'redis-fast'));

  it('a reader on the other instance catching up on a run kept at its default maxBytes gets it whole; abortRun there ends it', async () => {
    const feed = fed('redis-big');
    const starter = await openSseStream(apps[0].url, '/x/redis-big', { method: 'POST', timeout: 15_000 });
    streams.push(starter);
    const chunk = 'b'.repeat(4090);
    for (let i = 1; i <= 300; i++) {
      feed.next(`${i}:${chunk}`);
      if (i % 50 === 0) await turn();
    }
    const last = `300:${chunk}`;
    // Once all are stored (its starter has the last): the run keeps 1 MiB of them.
    await until(
      () => starter.received.some((message) => (message as SseTestEvent).data === last),
      'stored',
      15_000,
    );
    const late = await openSseStream(apps[1].url, '/x/redis-big', { timeout: 15_000 });
    streams.push(late);
    for await (const event of late) if (event.data === last) break;
    expect(await apps[1].app.get(SseHub).abortRun('x:redis-big')).toBe(true);
    await Promise.all([starter.closed(), late.closed()]);
    const got = late.received.filter((message) => message.type === 'event') as SseTestEvent[];
    expect(got[0].event).toBe('resync');
    const numbers = got.slice(1).map((event) => Number(event.data.split(':')[0]));
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0] + i));
    expect(numbers.at(-1)).toBe(300);
    expect((await hub(0).runStatus('x:redis-big'))?.status).toBe('aborted');
  });

  const hub = (n: number) => apps[n].app.get(SseHub);
});
