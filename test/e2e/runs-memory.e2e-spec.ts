import { Controller, RequestMethod } from '@nestjs/common';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { of } from 'rxjs';
import { SseHub, SseRoute } from 'nestjs-sse-hub';
import { openSseStream } from 'nestjs-sse-hub/testing';
import { dataOf, rest, turn, until } from './support/run-streams';
import { startApp, type TestApp } from './support/start-app';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

@Controller('x')
class ShortRunsController {
  @SseRoute('short/:id', {
    method: RequestMethod.POST,
    keepAlive: false,
    resumable: { key: (req) => `x:${req.params.id}`, ttl: 30 },
  })
  short() {
    return of('only');
  }
}

/** Memory does not grow with the runs an instance served: in its own file, so that the heap is its own. */
describe('resumable runs: memory (in process)', () => {
  let t: TestApp;
  let hub: SseHub;
  beforeAll(async () => {
    t = await startApp({ controllers: [ShortRunsController] });
    hub = t.app.get(SseHub);
  });
  afterAll(() => t.app.close());

  it('2,000 short runs: once their ttl has passed, the store, stats and heap are back where they were', async () => {
    const heap = async () => {
      gc();
      await turn();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const runMany = async (prefix: string, count: number) => {
      for (let i = 0; i < count; i += 50)
        await Promise.all(
          Array.from({ length: 50 }, async (_, j) => {
            const stream = await openSseStream(t.url, `/x/short/${prefix}${i + j}`, { method: 'POST' });
            expect(dataOf(await rest(stream))).toEqual(['only']);
          }),
        );
      await until(async () => (await hub.runStatus(`x:${prefix}${count - 1}`)) === undefined, 'they expired');
    };
    // A warm-up first, so that the baseline holds the code compiled for good (a heap
    // snapshot's diff after it shows code only).
    await runMany('warm', 200);
    const before = await heap();
    await runMany('s', 2000);
    const stats = hub.stats().runs;
    expect([stats.active, stats.readers, stats.running]).toEqual([0, 0, []]);
    for (const i of [0, 1000, 1999]) expect(await hub.runStatus(`x:s${i}`)).toBeUndefined();
    // A run kept (its record, its event, its timer, its producer) is well over 750 bytes.
    expect((await heap()) - before).toBeLessThan(1.5 * 1024 * 1024);
  });
});
