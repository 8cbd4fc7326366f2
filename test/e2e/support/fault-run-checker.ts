import { type ReceivedEvent, type Violation } from './fault-checker';

/**
 * The fault matrix's checker of resumable runs (fault-checker.ts does broadcasts): pure
 * functions over what each run's readers received, how each run was meant to end, and what
 * its store says of it at the end, so that it can be tested on hand-made traces.
 */

/** One connection of a run's reader: a POST (the starter's first) or a GET that resumes, with the last id it had. */
export interface RunSegmentTrace {
  instance: string;
  method: 'POST' | 'GET';
  lastEventId?: string;
  openedAt: number;
  /** The HTTP status: 200 (a stream), or 204 (nothing to read: the reader is done). */
  status: number;
  endedAt?: number;
  /** `server`: the stream ended; `test`: the reader dropped it (a reset) to resume elsewhere. */
  endedBy?: 'server' | 'test';
}

export interface RunReaderTrace {
  name: string;
  segments: RunSegmentTrace[];
  /** Everything received, in order. */
  events: ReceivedEvent[];
  /** It got its 204: nothing more to read. */
  done: boolean;
}

export interface RunTrace {
  /** The run's id in its path; its events' data is `r<id>:<n>`. */
  id: string;
  key: string;
  /** The instance it was started on (by its first reader's POST). */
  on: string;
  /** How it was meant to end: after `events`, by throwing after `failAfter`, or by `abortRun`. */
  plan: { events: number; end: 'complete' | 'fail' | 'abort'; failAfter?: number };
  /** The `abortRun` call: from where, what it answered, and the errors of attempts before (each may have landed). */
  abort?: { from: string; at: number; result?: boolean; errors: string[] };
  readers: RunReaderTrace[];
  /** `runStatus` at the end from a surviving instance (null: no run), or why it could not be read. */
  status?: { status: string; events: number } | null;
  statusError?: string;
}

export interface RunsTrace {
  runs: RunTrace[];
  /** Whether the run store may have lost writes (a server restarted, or failed over): readers are held to less. */
  storeMayLose: boolean;
  /** What each instance still held of runs once they had all ended (it must be nothing). */
  held: Array<{ instance: string; active: number; readers: number; error?: string }>;
}

const TOKEN = /^r(.+):(\d+)$/;
const SEEN = {
  failed: 'after an error event',
  gone: 'after a resync (the run is gone)',
  ended: 'with no error event',
};

/** Every broken invariant of the runs, empty when they held. */
export function checkRuns(trace: RunsTrace): Violation[] {
  const violations: Violation[] = [];
  const add = (invariant: string, detail: string) => violations.push({ invariant, detail });
  for (const run of trace.runs) checkRun(run, trace.storeMayLose, add);
  for (const { instance, active, readers, error } of trace.held) {
    if (error) add('run memory', `instance ${instance}: its run stats could not be read: ${error}`);
    else if (active !== 0 || readers !== 0)
      add(
        'run memory',
        `instance ${instance} still holds ${active} running run(s) and ${readers} run reader(s) after every run ended`,
      );
  }
  return violations;
}

/** How a reader's reading ended, as it saw it. */
interface Reading {
  name: string;
  /** The run name of its ids (`<run>-<n>`). */
  runs: Set<string>;
  /** The number of the last stored event it got (a token, or the error the run stored). */
  last: number;
  /** The last token's number. */
  lastToken: number;
  /** How its last stream that the server ended ended: with `event: error`, a resync (the run is gone), or plainly. */
  seen?: 'failed' | 'gone' | 'ended';
}

function checkRun(run: RunTrace, mayLose: boolean, add: (invariant: string, detail: string) => void): void {
  const meant = run.plan.failAfter ? `fail after ${run.plan.failAfter}` : run.plan.end;
  const what = `run ${run.id} (on ${run.on}, meant to ${meant} of ${run.plan.events})`;
  const readings = run.readers.map((reader) => checkReader(run, reader, what, mayLose, add));
  const names = new Set(readings.flatMap((reading) => [...reading.runs]));
  if (names.size > 1)
    add(
      'run one producer',
      `${what}: its readers got events of ${names.size} runs: ${[...names].join(', ')}`,
    );
  if (run.statusError) return add('run status', `${what}: runStatus failed at the end: ${run.statusError}`);
  const status = run.status;
  // A store that lost writes may have lost the run's end, or the run: only the readers' own order holds then.
  if (mayLose) return;
  if (!status) return add('run status', `${what}: no run at the end, and its store lost nothing`);
  if (run.abort?.result === true && status && status.status !== 'aborted')
    add('run status', `${what}: abortRun answered true, yet the run ended ${status.status}`);
  const ended = `it ended ${status.status} with ${status.events} events`;
  if (status.status === 'running') return add('run status', `${what}: still running at the end`);
  if (status.status === 'completed' && (run.plan.end === 'fail' || status.events !== run.plan.events))
    add('run status', `${what}: ${ended}`);
  if (status.status === 'aborted' && run.abort?.result !== true && !run.abort?.errors.length)
    add('run status', `${what}: ${ended}, yet no abortRun ended it`);
  for (const reading of readings) {
    const who = `${what}: reader ${reading.name}`;
    if (reading.last !== status.events)
      add(
        'run truncated',
        `${who} got up to event ${reading.last} (its last token ${reading.lastToken}), yet ${ended}`,
      );
    const expected = status.status === 'failed' ? 'failed' : 'ended';
    if (reading.seen !== undefined && reading.seen !== expected)
      add('run end', `${who}: its stream ended ${SEEN[reading.seen]}, yet ${ended}`);
  }
}

/** A reader's events: in order, each once, a jump only after a resync, nothing after an error or after its stream ended. */
function checkReader(
  run: RunTrace,
  reader: RunReaderTrace,
  what: string,
  mayLose: boolean,
  add: (invariant: string, detail: string) => void,
): Reading {
  const who = `${what}: reader ${reader.name}`;
  const reading: Reading = { name: reader.name, runs: new Set(), last: 0, lastToken: 0 };
  if (!reader.done) {
    const open = reader.segments.at(-1);
    add(
      'run reaches the end',
      `${who} never got its 204 (last token ${lastToken(reader)}; ${reader.segments.length} connection(s), ` +
        `the last on ${open?.instance ?? 'none'}${open?.endedAt !== undefined ? `, ended by the ${open.endedBy}` : ''})`,
    );
  }
  let resynced = false;
  let errorAt: number | undefined;
  /** The connections whose stream the server ended: the run had ended, nothing may come after. */
  const endedEarly = new Set<number>();
  reader.segments.forEach((segment, i) => {
    // Nothing to read: a run that ended with no event, or none (the store lost it).
    if (segment.status === 204 && segment.lastEventId === undefined && !mayLose && run.status?.events !== 0)
      add(
        'run reaches the end',
        `${who}: a connection without an id (#${i}, on ${segment.instance}) got a 204`,
      );
    if (segment.status !== 204 && segment.endedBy === 'server') endedEarly.add(i);
  });
  reader.events.forEach((event, position) => {
    const at = `#${position} (connection ${event.segment} on ${reader.segments[event.segment]?.instance})`;
    if (event.event === 'resync') {
      resynced = true;
      if (!mayLose)
        add('run resync', `${who} got a resync at ${at} (${event.data}), though nothing was trimmed or lost`);
      return;
    }
    if (event.event !== 't' && event.event !== 'error')
      return add('run events', `${who} got an unexpected event ${event.event} at ${at}: ${event.data}`);
    const id = event.id === undefined ? undefined : /^([0-9a-f]+)-(\d+)$/.exec(event.id);
    if (event.id !== undefined && !id) add('run ids', `${who} got the id ${event.id} at ${at}`);
    if (id) reading.runs.add(id[1]);
    const seq = id ? Number(id[2]) : undefined;
    if (errorAt !== undefined)
      add(
        'run end',
        `${who} got ${event.event} ${event.data} at ${at}, after the run's error at #${errorAt}`,
      );
    const earlier = [...endedEarly].filter((segment) => segment < event.segment);
    // A store that lost a run's end may have it running again, and failed by its lease later.
    if (earlier.length > 0 && !mayLose) {
      add(
        'run end',
        `${who}: its stream on connection ${earlier[0]} ended before the run did: it got ${event.data} at ${at}, later`,
      );
      endedEarly.clear();
    }
    if (event.event === 'error') {
      errorAt = position;
      if (seq !== undefined) {
        if (seq !== reading.last + 1 && !resynced)
          add('run gap', `${who}: the error at ${at} has the id ${event.id}, after event ${reading.last}`);
        reading.last = seq;
      }
      const next = reader.events[position + 1];
      if (next && next.segment === event.segment)
        add('run end', `${who}: its stream went on after the error at ${at}`);
      return;
    }
    const token = TOKEN.exec(event.data);
    if (!token || token[1] !== run.id)
      return add('run events', `${who} got ${JSON.stringify(event.data)} at ${at}, not a token of this run`);
    const n = Number(token[2]);
    if (seq === undefined) add('run ids', `${who} got ${event.data} at ${at} without an id`);
    else if (seq !== n) add('run ids', `${who} got ${event.data} at ${at} with the id ${event.id}`);
    if (n <= reading.lastToken)
      add(
        'run exactly once',
        `${who} got ${event.data} at ${at} after token ${reading.lastToken}${n === reading.lastToken ? ' (again)' : ''}`,
      );
    else if (n > reading.last + 1 && !resynced)
      add(
        'run gap',
        `${who} got ${event.data} at ${at} after event ${reading.last}, with no resync between: a silent gap`,
      );
    if (n > reading.lastToken) {
      reading.lastToken = n;
      reading.last = n;
    }
    resynced = false;
  });
  const lastOpen = reader.segments.filter((segment) => segment.status === 200).at(-1);
  if (lastOpen?.endedBy === 'server') {
    const last = reader.events.at(-1);
    reading.seen = last?.event === 'error' ? 'failed' : last?.event === 'resync' ? 'gone' : 'ended';
  }
  return reading;
}

function lastToken(reader: RunReaderTrace): string {
  return reader.events.filter((event) => event.event === 't').at(-1)?.data ?? 'none';
}
