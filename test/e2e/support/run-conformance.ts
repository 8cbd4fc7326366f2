import { Controller, Param, RequestMethod } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Subject } from 'rxjs';
import { SseHub, SseRoute, SseRunSignal, type SseTransport } from 'nestjs-sse-hub';
import { openSseStream, type SseTestEvent, type SseTestStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './start-app';
import { type TransportHarness } from './transport-conformance';

/** Each run's source, by key, whichever instance produces it; and what its handler was given. */
const feeds = new Map<string, Subject<unknown>>();
const produced = new Map<string, number>();
const signals = new Map<string, AbortSignal>();

function feedOf(key: string): Subject<unknown> {
  let feed = feeds.get(key);
  if (!feed) feeds.set(key, (feed = new Subject()));
  return feed;
}

const keyOf = (req: any) => `run:${req.params.id}`;

@Controller('runs')
class RunConformanceController {
  @SseRoute(':id', { method: RequestMethod.POST, keepAlive: false, resumable: { key: keyOf } })
  start(@SseRunSignal() signal: AbortSignal, @Param('id') id: string) {
    const key = `run:${id}`;
    produced.set(key, (produced.get(key) ?? 0) + 1);
    signals.set(key, signal);
    return feedOf(key).asObservable();
  }

  @SseRoute(':id', { keepAlive: false, resumable: { key: keyOf, create: false } })
  resume() {}
}

interface Instance extends TestApp {
  hub: SseHub;
  transport: SseTransport;
}

/**
 * Resumable runs on one transport, through real apps: one producer per key however many
 * instances ask at once, readers on any instance that follow live and resume by id, abort
 * from anywhere, the producing instance shutting down, and the server restarting mid-run.
 */
export function describeRunConformance(harness: TransportHarness): void {
  const where = harness.instances ? 'across two instances' : 'on one instance';
  // A part the transport does not offer is not declared at all: nothing here is skipped.
  const notOffered = ((): void => undefined) as unknown as typeof it;
  describe('resumable runs', () => {
    const apps: Instance[] = [];
    const streams: SseTestStream[] = [];
    afterEach(async () => {
      for (const stream of streams.splice(0)) stream.close();
      for (const app of apps.splice(0)) await app.app.close();
      await harness.afterEach?.();
    });

    const start = async (topic: string): Promise<Instance> => {
      const transport = harness.make(topic);
      const app = await startApp({ controllers: [RunConformanceController] }, { transport });
      const instance = { ...app, hub: app.app.get(SseHub), transport };
      apps.push(instance);
      await harness.ready?.(transport);
      return instance;
    };
    const pair = async () => {
      const topic = `r${randomUUID().replace(/-/g, '').slice(0, 20)}`;
      if (!harness.instances) {
        const a = await start(topic);
        return { a, b: a };
      }
      const [a, b] = await Promise.all([start(topic), start(topic)]);
      return { a, b };
    };
    const newId = () => randomUUID().slice(0, 8);
    const open = async (on: Instance, id: string, method: 'POST' | 'GET', lastEventId?: string) => {
      const stream = await openSseStream(on.url, `/runs/${id}`, {
        method,
        headers: lastEventId ? { 'last-event-id': lastEventId } : {},
        timeout: 15_000,
      });
      streams.push(stream);
      return stream;
    };
    /** Every event until the stream ends. */
    const rest = async (stream: SseTestStream): Promise<SseTestEvent[]> => {
      const events: SseTestEvent[] = [];
      for await (const event of stream) events.push(event);
      return events;
    };
    const dataOf = (events: SseTestEvent[]) => events.map((event) => event.data);
    const eventually = async (what: string, check: () => Promise<boolean>, ms = 10_000) => {
      const deadline = Date.now() + ms;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };

    it(`one producer per key ${where}, however many requests start it at once`, async () => {
      const { a, b } = await pair();
      const ids = Array.from({ length: 8 }, newId);
      const opened = await Promise.all(
        ids.flatMap((id) => [open(a, id, 'POST'), open(b, id, 'POST'), open(b, id, 'POST')]),
      );
      for (const id of ids) {
        await eventually(`the run of ${id} started`, async () => produced.has(`run:${id}`));
        feedOf(`run:${id}`).next(`first of ${id}`);
        feedOf(`run:${id}`).complete();
      }
      const got = await Promise.all(opened.map(rest));
      for (const [n, id] of ids.entries()) {
        expect(produced.get(`run:${id}`)).toBe(1);
        const three = got.slice(n * 3, n * 3 + 3);
        for (const events of three) expect(dataOf(events)).toEqual([`first of ${id}`]);
        expect(new Set(three.map((events) => events[0].id)).size).toBe(1);
      }
    });

    it(`a reader ${where} follows live, resumes after its last id exactly once, and ends with the run`, async () => {
      const { a, b } = await pair();
      const id = newId();
      const key = `run:${id}`;
      const starter = await open(a, id, 'POST');
      await eventually('the run started', async () => produced.has(key));
      feedOf(key).next('t1');
      expect((await starter.nextEvent()).data).toBe('t1');
      const reader = await open(b, id, 'GET');
      expect((await reader.nextEvent()).data).toBe('t1');
      feedOf(key).next('t2');
      const t2 = await reader.nextEvent();
      expect(t2.data).toBe('t2');
      reader.close();
      starter.close();
      feedOf(key).next('t3');
      feedOf(key).next('t4');
      const back = await open(b, id, 'GET', t2.id);
      expect(dataOf(await back.take(2))).toEqual(['t3', 't4']);
      feedOf(key).next('t5');
      feedOf(key).complete();
      expect(dataOf(await rest(back))).toEqual(['t5']);
      expect(await a.hub.runStatus(key)).toEqual({ status: 'completed', events: 5 });
      expect(await b.hub.runStatus(key)).toEqual({ status: 'completed', events: 5 });
      const all = await rest(await open(a, id, 'GET'));
      expect(dataOf(all)).toEqual(['t1', 't2', 't3', 't4', 't5']);
      expect((await open(b, id, 'GET', all[4].id)).status).toBe(204);
      expect((await open(b, newId(), 'GET')).status).toBe(204);
    });

    it(`abortRun ${where} aborts the producer's signal wherever it runs and ends every reader`, async () => {
      const { a, b } = await pair();
      const id = newId();
      const key = `run:${id}`;
      const starter = await open(a, id, 'POST');
      await eventually('the run started', async () => produced.has(key));
      const aborted = new Promise((resolve) => signals.get(key)!.addEventListener('abort', resolve));
      feedOf(key).next('x');
      const reader = await open(b, id, 'GET');
      await reader.nextEvent();
      expect(await b.hub.abortRun(key)).toBe(true);
      await aborted;
      expect(dataOf(await rest(starter))).toEqual(['x']);
      expect(await rest(reader)).toEqual([]);
      expect(feedOf(key).observed).toBe(false);
      expect((await a.hub.runStatus(key))?.status).toBe('aborted');
      expect(await a.hub.abortRun(key)).toBe(false);
    });

    (harness.instances ? it : notOffered)(
      'the producing instance shuts down: the run fails, readers elsewhere get event: error and the end',
      async () => {
        const { a, b } = await pair();
        const id = newId();
        const key = `run:${id}`;
        await open(a, id, 'POST');
        await eventually('the run started', async () => produced.has(key));
        feedOf(key).next('before');
        const reader = await open(b, id, 'GET');
        expect((await reader.nextEvent()).data).toBe('before');
        await apps.splice(apps.indexOf(a), 1)[0].app.close();
        const events = await rest(reader);
        expect(events.map((event) => event.event)).toEqual(['error']);
        expect(signals.get(key)!.aborted).toBe(true);
        expect((await b.hub.runStatus(key))?.status).toBe('failed');
      },
    );

    (harness.restart ? it : notOffered)(
      'the server restarts mid-run: readers get every event once and in order, or a resync where some are gone',
      async () => {
        const { a, b } = await pair();
        const id = newId();
        const key = `run:${id}`;
        const starter = await open(a, id, 'POST');
        await eventually('the run started', async () => produced.has(key));
        const reader = await open(b, id, 'GET');
        for (let n = 1; n <= 5; n++) feedOf(key).next(`n${n}`);
        await reader.take(5);
        const restarting = harness.restart!();
        for (let n = 6; n <= 10; n++) feedOf(key).next(`n${n}`);
        await restarting;
        for (let n = 11; n <= 15; n++) feedOf(key).next(`n${n}`);
        feedOf(key).complete();
        for (const stream of [starter, reader]) {
          const events = await Promise.race([
            rest(stream),
            // A run whose store restarted empty is gone: its readers are told, and their streams end.
            new Promise<SseTestEvent[]>((resolve) => setTimeout(() => resolve([]), 20_000)),
          ]);
          let last = 0;
          for (const event of events) {
            if (event.event === 'resync') {
              last = -1;
              continue;
            }
            if (event.event === 'error') continue;
            const n = Number(event.data.slice(1));
            // In order and once; a jump only right after a resync.
            if (last >= 0) expect(n).toBeGreaterThan(last);
            if (last > 0) expect(n).toBe(last + 1);
            last = n;
          }
          if (harness.restartKeepsHistory)
            expect(
              dataOf(events)
                .filter((data) => data.startsWith('n'))
                .at(-1),
            ).toBe('n15');
        }
      },
      60_000,
    );
  });
}
