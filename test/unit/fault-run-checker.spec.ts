import { type ReceivedEvent } from '../e2e/support/fault-checker';
import {
  checkRuns,
  type RunReaderTrace,
  type RunSegmentTrace,
  type RunsTrace,
  type RunTrace,
} from '../e2e/support/fault-run-checker';

/**
 * The fault matrix's run checker on hand-made traces: it must fail each broken invariant
 * (a silent gap, a token twice, a stream that ended before its run, an end that disagrees
 * with the run's status, run state held after the end), and pass what is allowed.
 */

const RUN = 'a1b2c3d4e5f6';
const ERROR = '{"statusCode":500,"message":"Internal server error"}';

const token = (n: number, segment = 0): ReceivedEvent => ({
  event: 't',
  id: `${RUN}-${n}`,
  data: `r0:${n}`,
  at: n,
  segment,
});
const tokens = (from: number, to: number, segment = 0) =>
  Array.from({ length: to - from + 1 }, (_, i) => token(from + i, segment));
const segment = (overrides: Partial<RunSegmentTrace> = {}): RunSegmentTrace => ({
  instance: 'A',
  method: 'GET',
  openedAt: 0,
  status: 200,
  endedAt: 1,
  endedBy: 'server',
  ...overrides,
});
/** A reader whose one stream ended, then got its 204. */
const reader = (events: ReceivedEvent[], segments?: RunSegmentTrace[]): RunReaderTrace => ({
  name: 'r',
  segments: segments ?? [segment(), segment({ status: 204, lastEventId: events.at(-1)?.id })],
  events,
  done: true,
});
const run = (overrides: Partial<RunTrace> = {}): RunTrace => ({
  id: '0',
  key: 'run:0',
  on: 'A',
  plan: { events: 5, end: 'complete' },
  readers: [reader(tokens(1, 5))],
  status: { status: 'completed', events: 5 },
  ...overrides,
});
const check = (runs: RunTrace[], more: Partial<RunsTrace> = {}) =>
  checkRuns({ runs, storeMayLose: false, held: [{ instance: 'A', active: 0, readers: 0 }], ...more }).map(
    (violation) => violation.invariant,
  );

describe('the fault matrix run checker', () => {
  it('passes a run read whole, across a reset, and a failed one that ends with its error', () => {
    const resumed = reader(
      [...tokens(1, 2), ...tokens(3, 5, 1)],
      [
        segment({ endedBy: 'test' }),
        segment({ instance: 'B', lastEventId: `${RUN}-2` }),
        segment({ status: 204, lastEventId: `${RUN}-5` }),
      ],
    );
    const failed = run({
      plan: { events: 5, end: 'fail', failAfter: 3 },
      readers: [
        reader([...tokens(1, 3), { event: 'error', id: `${RUN}-4`, data: ERROR, at: 4, segment: 0 }]),
      ],
      status: { status: 'failed', events: 4 },
    });
    expect(check([run({ readers: [resumed] }), failed])).toEqual([]);
  });

  it('fails a silent gap, a token twice, and a resync with nothing lost', () => {
    expect(check([run({ readers: [reader([...tokens(1, 2), ...tokens(4, 5)])] })])).toContain('run gap');
    expect(check([run({ readers: [reader([...tokens(1, 3), ...tokens(3, 5)])] })])).toContain(
      'run exactly once',
    );
    const resync: ReceivedEvent = { event: 'resync', data: '{}', at: 0, segment: 0 };
    const withResync = check([run({ readers: [reader([...tokens(1, 2), resync, ...tokens(4, 5)])] })]);
    expect(withResync).toContain('run resync');
    expect(withResync).not.toContain('run gap');
  });

  it('fails a stream that ended before its run did, and a run cut short for its readers', () => {
    const early = reader(
      [...tokens(1, 2), ...tokens(3, 5, 1)],
      [segment(), segment({ lastEventId: `${RUN}-2` }), segment({ status: 204, lastEventId: `${RUN}-5` })],
    );
    expect(check([run({ readers: [early] })])).toContain('run end');
    expect(check([run({ readers: [reader(tokens(1, 3))] })])).toContain('run truncated');
  });

  it('fails an end that disagrees with the status, and a reader that never got its 204', () => {
    // Failed in the store, yet its reader's stream ended with no error event.
    expect(check([run({ status: { status: 'failed', events: 5 } })])).toContain('run end');
    expect(check([run({ status: { status: 'aborted', events: 5 } })])).toContain('run status');
    expect(
      check([
        run({
          abort: { from: 'B', at: 0, result: true, errors: [] },
          status: { status: 'completed', events: 5 },
        }),
      ]),
    ).toContain('run status');
    expect(check([run({ readers: [{ ...reader(tokens(1, 5)), done: false }] })])).toContain(
      'run reaches the end',
    );
  });

  it('fails run state held after every run ended, and events of two runs of one key', () => {
    expect(check([run()], { held: [{ instance: 'C', active: 1, readers: 0 }] })).toEqual(['run memory']);
    const other = { ...token(5), id: `ffffffffffff-5` };
    expect(check([run({ readers: [reader([...tokens(1, 4), other])] })])).toContain('run one producer');
  });

  it('takes a 204 without an id only for a run that ended with no event', () => {
    const none = reader([], [segment({ status: 204 })]);
    const aborted = { from: 'B', at: 0, result: true, errors: [] };
    expect(
      check([run({ readers: [none], abort: aborted, status: { status: 'aborted', events: 0 } })]),
    ).toEqual([]);
    expect(check([run({ readers: [none] })])).toContain('run reaches the end');
  });

  it('when the store may have lost writes, holds readers to their order only', () => {
    const resync: ReceivedEvent = { event: 'resync', data: '{}', at: 0, segment: 0 };
    const gone = run({ readers: [reader([...tokens(1, 2), resync])], status: null });
    expect(check([gone], { storeMayLose: true })).toEqual([]);
    expect(check([gone])).toContain('run status');
  });
});
