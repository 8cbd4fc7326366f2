import { setTimeout as sleep } from 'node:timers/promises';
import { type SseRunLimits, type SseRunRecord, type SseRunStore } from 'nestjs-sse-hub';

/**
 * How to run one run store through the contract: how it is made, and whether its runs
 * have a lease (the contract checks what a store offers, and leaves out the rest).
 */
export interface RunStoreHarness {
  /** False when what the store needs is missing here (a server binary): the contract is declared but skipped. */
  available?: boolean;
  beforeAll?: () => Promise<void>;
  afterAll?: () => Promise<void>;
  /**
   * A fresh store on a fresh namespace (a Redis stream, a PostgreSQL table) that no other
   * test uses. `lease`: its lease is `leaseMs` (the lease tests); otherwise one that does not
   * run out during a test, since the other tests claim and finish runs without renewing them,
   * which a busy machine may take longer than a short lease to do.
   */
  make(options: { lease: boolean }): SseRunStore | Promise<SseRunStore>;
  /**
   * Another store (another instance) on the same server and namespace as the last `make()`:
   * claims race across the two. Without it, the contract races claims on one store.
   */
  makeSecond?(options: { lease: boolean }): SseRunStore | Promise<SseRunStore>;
  /** The lease of the stores made (their `lease`, in ms); absent: no lease tests. */
  leaseMs?: number;
  /** Releases a store made by `make` or `makeSecond`, after each test. */
  close?(store: SseRunStore): void | Promise<void>;
}

const LIMITS: SseRunLimits = { ttl: 60_000, maxEvents: 1000, maxBytes: 1_000_000 };
/** How long a poll for an expiry waits at most: generous, for a busy machine. */
const DEADLINE_MS = 15_000;

/** Polls `check` until it holds (every 20 ms), for at most `ms`. */
async function until(what: string, check: () => Promise<boolean>, ms = DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}

const record = (run: string, status: SseRunRecord['status'], first: number, last: number): SseRunRecord => ({
  run,
  status,
  first,
  last,
});

/**
 * One contract for every `SseRunStore` (in process, Redis, Redis Cluster, PostgreSQL),
 * on the store alone: claims (atomic across two stores on one server), appends and their
 * numbering, retries and gaps, trimming by count and by UTF-8 bytes, reads in pages, the
 * end of a run and its `ttl`, `release`, the lease and its renewal, and keys and events
 * stored exactly whatever they hold.
 */
export function describeRunStoreContract(name: string, harness: RunStoreHarness): void {
  // A part the store does not offer is not declared at all.
  const withLease = harness.leaseMs !== undefined ? it : (((): void => undefined) as unknown as typeof it);

  (harness.available === false ? describe.skip : describe)(`run store contract: ${name}`, () => {
    const made: SseRunStore[] = [];
    /** Set while the lease tests run: their stores get the short lease. */
    let lease = false;
    const make = async () => {
      const store = await harness.make({ lease });
      made.push(store);
      return store;
    };
    /** Two stores on one namespace (two instances), or one twice where the harness has no second. */
    const pair = async (): Promise<[SseRunStore, SseRunStore]> => {
      const a = await make();
      if (!harness.makeSecond) return [a, a];
      const b = await harness.makeSecond({ lease });
      made.push(b);
      return [a, b];
    };
    /** A store with `key` claimed as `run`. */
    const claimed = async (key = 'k', run = 'r1', limits: Partial<SseRunLimits> = {}) => {
      const store = await make();
      const { created } = await store.claim(key, run, { ...LIMITS, ...limits });
      expect(created).toBe(true);
      return store;
    };

    beforeAll(async () => harness.beforeAll?.(), 120_000);
    afterAll(async () => harness.afterAll?.(), 60_000);
    afterEach(async () => {
      for (const store of new Set(made.splice(0))) await harness.close?.(store);
    });

    describe('claim', () => {
      it('creates the run once, running with no events, and gives the existing run after', async () => {
        const store = await make();
        expect(await store.get('k')).toBeUndefined();
        expect(await store.claim('k', 'r1', LIMITS)).toEqual({
          created: true,
          record: record('r1', 'running', 1, 0),
        });
        expect(await store.claim('k', 'r2', LIMITS)).toEqual({
          created: false,
          record: record('r1', 'running', 1, 0),
        });
        expect(await store.get('k')).toEqual(record('r1', 'running', 1, 0));
        // Another key is another run.
        expect((await store.claim('k2', 'r3', LIMITS)).created).toBe(true);
      });

      it('gives the finished run, not a new one, while its ttl runs', async () => {
        const store = await claimed();
        await store.append('k', 'r1', 1, ['a']);
        await store.finish('k', 'r1', 'completed');
        expect(await store.claim('k', 'r2', LIMITS)).toEqual({
          created: false,
          record: record('r1', 'completed', 1, 1),
        });
      });

      it('creates exactly one run per key when two stores claim it at once', async () => {
        const [a, b] = await pair();
        const keys = Array.from({ length: 20 }, (_, i) => `race:${i}`);
        const results = await Promise.all(
          keys.map((key) =>
            Promise.all([a.claim(key, `a-${key}`, LIMITS), b.claim(key, `b-${key}`, LIMITS)]),
          ),
        );
        for (const [i, [fromA, fromB]] of results.entries()) {
          expect([fromA.created, fromB.created].filter(Boolean)).toHaveLength(1);
          const winner = fromA.created ? `a-${keys[i]}` : `b-${keys[i]}`;
          expect(fromA.record).toEqual(record(winner, 'running', 1, 0));
          expect(fromB.record).toEqual(record(winner, 'running', 1, 0));
          expect(await b.get(keys[i])).toEqual(record(winner, 'running', 1, 0));
        }
      });
    });

    describe('append', () => {
      it('numbers events 1, 2, 3… across appends', async () => {
        const store = await claimed();
        expect(await store.append('k', 'r1', 1, ['a', 'b'])).toBe(true);
        expect(await store.append('k', 'r1', 3, ['c'])).toBe(true);
        expect(await store.get('k')).toEqual(record('r1', 'running', 1, 3));
        expect(await store.read('k', 0, 10)).toEqual({
          record: record('r1', 'running', 1, 3),
          from: 1,
          events: ['a', 'b', 'c'],
        });
      });

      it('skips the events it already has (a retry), in whole or in part', async () => {
        const store = await claimed();
        await store.append('k', 'r1', 1, ['a', 'b']);
        expect(await store.append('k', 'r1', 1, ['a', 'b'])).toBe(true);
        expect(await store.append('k', 'r1', 1, ['a', 'b', 'c'])).toBe(true);
        expect(await store.append('k', 'r1', 2, ['b', 'c', 'd'])).toBe(true);
        expect(await store.read('k', 0, 10)).toEqual({
          record: record('r1', 'running', 1, 4),
          from: 1,
          events: ['a', 'b', 'c', 'd'],
        });
      });

      it('drops every kept event on a gap (from > last + 1): first is from', async () => {
        const store = await claimed();
        await store.append('k', 'r1', 1, ['a', 'b']);
        expect(await store.append('k', 'r1', 5, ['e', 'f'])).toBe(true);
        expect(await store.get('k')).toEqual(record('r1', 'running', 5, 6));
        expect(await store.read('k', 0, 10)).toEqual({
          record: record('r1', 'running', 5, 6),
          from: 5,
          events: ['e', 'f'],
        });
        // A gap before the first event too.
        const other = await claimed('g', 'r2');
        expect(await other.append('g', 'r2', 3, ['c'])).toBe(true);
        expect(await other.read('g', 0, 10)).toEqual({
          record: record('r2', 'running', 3, 3),
          from: 3,
          events: ['c'],
        });
      });

      it('refuses another run, a key without a run, and a run that ended: nothing added', async () => {
        const store = await claimed();
        await store.append('k', 'r1', 1, ['a']);
        expect(await store.append('k', 'r2', 2, ['x'])).toBe(false);
        expect(await store.append('none', 'r1', 1, ['x'])).toBe(false);
        await store.finish('k', 'r1', 'aborted');
        expect(await store.append('k', 'r1', 2, ['x'])).toBe(false);
        expect(await store.read('k', 0, 10)).toEqual({
          record: record('r1', 'aborted', 1, 1),
          from: 1,
          events: ['a'],
        });
        expect(await store.get('none')).toBeUndefined();
      });

      it('trims the oldest beyond maxEvents, in one append and across appends', async () => {
        const store = await claimed('k', 'r1', { maxEvents: 3 });
        await store.append('k', 'r1', 1, ['a', 'b', 'c', 'd', 'e']);
        expect(await store.read('k', 0, 10)).toEqual({
          record: record('r1', 'running', 3, 5),
          from: 3,
          events: ['c', 'd', 'e'],
        });
        await store.append('k', 'r1', 6, ['f']);
        await store.append('k', 'r1', 7, ['g']);
        expect(await store.read('k', 0, 10)).toEqual({
          record: record('r1', 'running', 5, 7),
          from: 5,
          events: ['e', 'f', 'g'],
        });
      });

      it('trims the oldest beyond maxBytes counted in UTF-8, always keeping the newest', async () => {
        // '€€' is 2 UTF-16 units but 6 bytes; '😀' 2 units, 4 bytes; 'é' 1 unit, 2 bytes.
        const store = await claimed('k', 'r1', { maxBytes: 10 });
        await store.append('k', 'r1', 1, ['€€', '😀']);
        expect((await store.get('k'))?.first).toBe(1);
        // 12 bytes: the first goes.
        await store.append('k', 'r1', 3, ['é']);
        expect(await store.read('k', 0, 10)).toEqual({
          record: record('r1', 'running', 2, 3),
          from: 2,
          events: ['😀', 'é'],
        });
        // One event larger than maxBytes alone: it is kept, and only it.
        const big = '€'.repeat(10);
        await store.append('k', 'r1', 4, [big]);
        expect(await store.read('k', 0, 10)).toEqual({
          record: record('r1', 'running', 4, 4),
          from: 4,
          events: [big],
        });
        // The bytes of what was trimmed are not counted any more.
        await store.append('k', 'r1', 5, ['a', 'b']);
        expect(await store.read('k', 0, 10)).toEqual({
          record: record('r1', 'running', 5, 6),
          from: 5,
          events: ['a', 'b'],
        });
      });

      it('trims by count and bytes at once when one append brings more than maxEvents', async () => {
        const store = await claimed('k', 'r1', { maxEvents: 3, maxBytes: 8 });
        await store.append('k', 'r1', 1, ['aaaa', 'bbbb']);
        // The newest 3 are 9 bytes: the oldest of them goes too.
        await store.append('k', 'r1', 3, ['c', 'dddd', 'eeee', 'ffff', 'g']);
        expect(await store.read('k', 0, 10)).toEqual({
          record: record('r1', 'running', 6, 7),
          from: 6,
          events: ['ffff', 'g'],
        });
      });

      it('adds thousands of events in one append, a retry overlapping them, and trims the oldest', async () => {
        const store = await claimed('k', 'r1', { maxEvents: 2500 });
        const events = Array.from({ length: 3000 }, (_, i) => `data: ${i + 1}\n\n`);
        expect(await store.append('k', 'r1', 1, events.slice(0, 1200))).toBe(true);
        expect(await store.append('k', 'r1', 1001, events.slice(1000))).toBe(true);
        expect(await store.read('k', 0, 5000)).toEqual({
          record: record('r1', 'running', 501, 3000),
          from: 501,
          events: events.slice(500),
        });
        expect(await store.read('k', 2000, 2)).toEqual({
          record: record('r1', 'running', 501, 3000),
          from: 2001,
          events: events.slice(2000, 2002),
        });
      });
    });

    describe('read', () => {
      it('pages through the events after `after`, at most `count` at a time', async () => {
        const store = await claimed();
        const events = 'abcdefghij'.split('');
        await store.append('k', 'r1', 1, events);
        const running = record('r1', 'running', 1, 10);
        expect(await store.read('k', 0, 3)).toEqual({ record: running, from: 1, events: ['a', 'b', 'c'] });
        expect(await store.read('k', 3, 3)).toEqual({ record: running, from: 4, events: ['d', 'e', 'f'] });
        expect(await store.read('k', 9, 3)).toEqual({ record: running, from: 10, events: ['j'] });
        expect(await store.read('k', 10, 3)).toEqual({ record: running, from: 11, events: [] });
        expect(await store.read('k', 12, 3)).toEqual({ record: running, from: 13, events: [] });
        expect(await store.read('k', 2, 0)).toEqual({ record: running, from: 3, events: [] });
        expect(await store.read('none', 0, 3)).toBeUndefined();
      });

      it('starts from first when what comes after `after` was trimmed', async () => {
        const store = await claimed('k', 'r1', { maxEvents: 4 });
        await store.append('k', 'r1', 1, 'abcdefghij'.split(''));
        const trimmed = record('r1', 'running', 7, 10);
        expect(await store.read('k', 0, 2)).toEqual({ record: trimmed, from: 7, events: ['g', 'h'] });
        expect(await store.read('k', 5, 10)).toEqual({
          record: trimmed,
          from: 7,
          events: ['g', 'h', 'i', 'j'],
        });
        expect(await store.read('k', 7, 10)).toEqual({ record: trimmed, from: 8, events: ['h', 'i', 'j'] });
      });

      it('reads a run with no events', async () => {
        const store = await claimed();
        expect(await store.read('k', 0, 10)).toEqual({
          record: record('r1', 'running', 1, 0),
          from: 1,
          events: [],
        });
      });
    });

    describe('finish', () => {
      it('ends only a running run of the same run, once', async () => {
        const store = await claimed();
        await store.append('k', 'r1', 1, ['a', 'b']);
        expect(await store.finish('k', 'r2', 'completed')).toBeUndefined();
        expect(await store.finish('none', 'r1', 'completed')).toBeUndefined();
        expect(await store.get('k')).toEqual(record('r1', 'running', 1, 2));
        expect(await store.finish('k', 'r1', 'completed')).toEqual(record('r1', 'completed', 1, 2));
        expect(await store.finish('k', 'r1', 'failed')).toBeUndefined();
        expect(await store.finish('k', undefined, 'aborted')).toBeUndefined();
        expect(await store.get('k')).toEqual(record('r1', 'completed', 1, 2));
        expect(await store.read('k', 1, 10)).toEqual({
          record: record('r1', 'completed', 1, 2),
          from: 2,
          events: ['b'],
        });
      });

      it('ends whatever runs when run is undefined, with each status', async () => {
        const store = await make();
        for (const status of ['completed', 'failed', 'aborted'] as const) {
          await store.claim(status, `r-${status}`, LIMITS);
          await store.append(status, `r-${status}`, 1, ['x']);
          expect(await store.finish(status, undefined, status)).toEqual(record(`r-${status}`, status, 1, 1));
          expect(await store.get(status)).toEqual(record(`r-${status}`, status, 1, 1));
        }
        expect(await store.finish('none', undefined, 'aborted')).toBeUndefined();
      });

      it('lets a finished run go after its ttl: then a claim creates anew', async () => {
        const store = await claimed('k', 'r1', { ttl: 200 });
        await store.append('k', 'r1', 1, ['a']);
        await store.finish('k', 'r1', 'completed');
        await until('the finished run is gone', async () => (await store.get('k')) === undefined);
        expect(await store.read('k', 0, 10)).toBeUndefined();
        expect(await store.append('k', 'r1', 2, ['b'])).toBe(false);
        expect(await store.claim('k', 'r2', LIMITS)).toEqual({
          created: true,
          record: record('r2', 'running', 1, 0),
        });
        // The new run starts from nothing.
        expect(await store.read('k', 0, 10)).toEqual({
          record: record('r2', 'running', 1, 0),
          from: 1,
          events: [],
        });
      });
    });

    describe('release', () => {
      it('deletes the run only while it has no event, and only that run', async () => {
        const store = await claimed();
        await store.release('k', 'r2');
        expect(await store.get('k')).toEqual(record('r1', 'running', 1, 0));
        await store.release('k', 'r1');
        expect(await store.get('k')).toBeUndefined();
        expect((await store.claim('k', 'r3', LIMITS)).created).toBe(true);

        await store.append('k', 'r3', 1, ['a']);
        await store.release('k', 'r3');
        expect(await store.get('k')).toEqual(record('r3', 'running', 1, 1));
        await store.release('none', 'r3');
      });
    });

    describe('lease', () => {
      if (harness.leaseMs !== undefined) {
        beforeEach(() => (lease = true));
        afterEach(() => (lease = false));
      }

      withLease('gives its lease', async () => {
        expect((await make()).lease).toBe(harness.leaseMs);
      });

      withLease(
        'fails a run whose lease ran out: append and finish refused, readable for its ttl, then a claim creates anew',
        async () => {
          const store = await claimed('k', 'r1', { ttl: 300 });
          await store.append('k', 'r1', 1, ['a']);
          await until('the run reads as failed', async () => (await store.get('k'))?.status === 'failed');
          expect(await store.append('k', 'r1', 2, ['b'])).toBe(false);
          expect(await store.finish('k', 'r1', 'completed')).toBeUndefined();
          expect(await store.finish('k', undefined, 'aborted')).toBeUndefined();
          const page = await store.read('k', 0, 10);
          // Gone already on a machine slow enough; else it reads as it was, failed.
          if (page) expect(page).toEqual({ record: record('r1', 'failed', 1, 1), from: 1, events: ['a'] });
          await until('the failed run is gone', async () => (await store.get('k')) === undefined);
          expect(await store.claim('k', 'r2', LIMITS)).toEqual({
            created: true,
            record: record('r2', 'running', 1, 0),
          });
        },
      );

      withLease(
        'keeps a run running while renew or append come within its lease; only the same run',
        async () => {
          const store = await make();
          for (const key of ['renewed', 'appended', 'other'])
            expect((await store.claim(key, `r-${key}`, { ...LIMITS, ttl: 300 })).created).toBe(true);
          // Many runs in one renew call too, as an instance renews all of its own.
          const many = Array.from({ length: 300 }, (_, i) => ({ key: `many:${i}`, run: `r-many-${i}` }));
          await Promise.all(many.map(({ key, run }) => store.claim(key, run, { ...LIMITS, ttl: 300 })));
          let n = 0;
          const end = Date.now() + 2 * harness.leaseMs!;
          while (Date.now() < end) {
            await store.renew([
              { key: 'renewed', run: 'r-renewed' },
              { key: 'other', run: 'not-this-run' },
              { key: 'none', run: 'r-none' },
              ...many,
            ]);
            expect(await store.append('appended', 'r-appended', ++n, [String(n)])).toBe(true);
            await sleep(harness.leaseMs! / 3);
          }
          expect((await store.get('renewed'))?.status).toBe('running');
          expect((await store.get('appended'))?.status).toBe('running');
          for (const { key } of [many[0], many[299]]) expect((await store.get(key))?.status).toBe('running');
          await until(
            'the run not renewed reads as failed',
            async () => (await store.get('other'))?.status !== 'running',
          );
          expect(await store.get('none')).toBeUndefined();
          await store.renew([]);
        },
      );

      withLease('keeps a finished run for its ttl, not its lease', async () => {
        const store = await claimed('k', 'r1', { ttl: 4 * harness.leaseMs! });
        await store.finish('k', 'r1', 'completed');
        await sleep(2 * harness.leaseMs!);
        expect(await store.get('k')).toEqual(record('r1', 'completed', 1, 0));
      });
    });

    describe('keys and events', () => {
      const keys = [
        'plain',
        'with space and "quotes" and \'single\'',
        '{x}',
        '{',
        '}',
        'a{b}c',
        'ключ',
        '键',
        '😀🎉',
        'e\u0301',
        'back\\slash',
        'new\nline\ttab',
        '%s %d',
        '',
        'k',
        'k:events',
        'k:meta',
        'run:k',
        'e:k',
        'm:k',
        '*',
        '?',
        '[a]',
        'x'.repeat(4096),
        '€'.repeat(1400),
      ];
      const events = [
        'data: one\n\n',
        'event: m\ndata: "quoted"\ndata: \'single\'\n\n',
        'data: 😀 emoji and ключ\n\n',
        'data: {"json":[1,2,{"x":null}]}\n\n',
        'data: a\r\ndata: b\r\rdata: c\n\n',
        '',
        ' ',
        '\\',
        'data: \u2028\u2029\ufeff\n\n',
        'é'.repeat(5000),
      ];

      it('stores keys and events exactly, each key its own run', async () => {
        const store = await make();
        for (const [i, key] of keys.entries()) {
          expect((await store.claim(key, `run-${i}`, LIMITS)).created).toBe(true);
          expect(await store.append(key, `run-${i}`, 1, [...events, `the event of ${i}`])).toBe(true);
        }
        for (const [i, key] of keys.entries()) {
          expect(await store.get(key)).toEqual(record(`run-${i}`, 'running', 1, events.length + 1));
          expect(await store.read(key, 0, 100)).toEqual({
            record: record(`run-${i}`, 'running', 1, events.length + 1),
            from: 1,
            events: [...events, `the event of ${i}`],
          });
        }
        for (const [i, key] of keys.entries())
          expect(await store.finish(key, `run-${i}`, 'completed')).toEqual(
            record(`run-${i}`, 'completed', 1, events.length + 1),
          );
      });

      it('stores run ids exactly', async () => {
        const store = await make();
        const run = 'run "1" {x} 😀 ключ\n';
        expect(await store.claim('k', run, LIMITS)).toEqual({
          created: true,
          record: record(run, 'running', 1, 0),
        });
        expect(await store.append('k', run, 1, ['a'])).toBe(true);
        expect(await store.finish('k', run, 'completed')).toEqual(record(run, 'completed', 1, 1));
      });

      it('stores an event holding NUL exactly (valid Unicode)', async () => {
        const store = await claimed();
        const event = 'data: a\u0000b\n\n';
        await store.append('k', 'r1', 1, [event]);
        expect((await store.read('k', 0, 1))?.events).toEqual([event]);
      });
    });
  });
}
