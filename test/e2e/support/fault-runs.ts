import { openSseStream, type SseTestStream } from '../../../src/testing';
import { type MatrixInstance, within } from './fault-instances';
import { type RunReaderTrace, type RunsTrace, type RunTrace } from './fault-run-checker';
import { type Fault, type Random, type Schedule } from './fault-schedule';
import { sleep } from './fault-workload';

/**
 * The fault matrix's resumable runs (MatrixRunsController): a few runs per schedule, each
 * started on one instance and read by readers on several, who drop their stream now and
 * then and resume with their Last-Event-ID on any instance, as EventSource behind a load
 * balancer does, until a 204 says there is nothing more. Runs end by completing, by
 * throwing, by `abortRun` from another instance, or by their instance losing its transport
 * or being stopped past its lease. fault-run-checker.ts checks what the readers got.
 */

export interface RunPlan {
  id: string;
  /** The instance its starter POSTs to; ms after the faults begin. */
  on: string;
  startAt: number;
  /** Its tokens, one every `every` ms. */
  events: number;
  every: number;
  end: 'complete' | 'fail' | 'abort';
  failAfter?: number;
  /** `abortRun` on `abortFrom`, `abortAt` ms after the start. */
  abortAt?: number;
  abortFrom?: string;
  /** Its readers (the first starts it): where each connects first, when (ms after the start), when it drops its stream. */
  readers: Array<{ on: string; joinAt: number; resets: number[] }>;
}

/**
 * The runs of a schedule, drawn from their own stream (`runs`), so that the schedule's draws
 * stay as they were. The first is produced across the schedule's first outage, if it has
 * one (the instance stopped, or its transport refused or stalled): started a little before
 * on that instance, and long enough to outlive it.
 */
export function drawRuns(
  random: Random,
  instances: string[],
  schedule: Pick<Schedule, 'windowMs' | 'faults'>,
  stoppable?: string,
): RunPlan[] {
  const outage = schedule.faults.find(
    ({ fault }) =>
      (fault.kind === 'sigstop' && stoppable) || fault.kind === 'refuse' || fault.kind === 'stall',
  );
  return Array.from({ length: random.int(2, 3) }, (_, i) => {
    let events = random.int(15, 50);
    const every = random.int(40, 110);
    const end = random.weighted({ complete: 5, fail: 2, abort: 3 } as const);
    let on = random.pick(instances);
    let startAt = random.int(0, Math.max(0, schedule.windowMs - 3_000));
    if (i === 0 && outage) {
      const { at, fault } = outage;
      const target = fault.kind === 'sigstop' ? stoppable! : 'target' in fault ? fault.target : 'all';
      if (target !== 'all') on = target;
      startAt = Math.max(0, at - random.int(200, 1_000));
      events = Math.max(events, Math.ceil((at - startAt + ('ms' in fault ? fault.ms : 0) + 1_500) / every));
    }
    const duration = events * every;
    const elsewhere = instances.filter((name) => name !== on);
    return {
      id: `${i}`,
      on,
      startAt,
      events,
      every,
      end,
      failAfter: end === 'fail' ? random.int(1, events - 1) : undefined,
      abortAt:
        end === 'abort' ? random.int(Math.floor(duration * 0.2), Math.floor(duration * 0.9)) : undefined,
      abortFrom: end === 'abort' ? random.pick(elsewhere.length > 0 ? elsewhere : [on]) : undefined,
      readers: [
        { on, joinAt: 0 },
        ...Array.from({ length: random.int(1, 3) }, () => ({
          on: random.pick(instances),
          // Some join after the run ended: they read it all from the store.
          joinAt: random.int(0, Math.floor(duration * 1.3)),
        })),
      ].map((reader) => ({
        ...reader,
        resets: Array.from({ length: random.int(0, 2) }, () => reader.joinAt + random.int(100, duration)),
      })),
    };
  });
}

/**
 * A reader of one run, as EventSource is: it reads its stream with a real parser; when the
 * stream ends it connects again (GET) with the last id it got, to any instance, until a
 * 204; an answer other than 200/204 (the instance's transport is down) is retried.
 */
class RunClient {
  readonly trace: RunReaderTrace;
  private stream: SseTestStream | undefined;
  /** The connection that may record and reconnect. */
  private current: object = {};
  private lastEventId: string | undefined;
  private method: 'POST' | 'GET';
  private stopped = false;
  private reachDone: (() => void) | undefined;
  private readonly doneReached = new Promise<void>((resolve) => (this.reachDone = resolve));
  lastError: string | undefined;

  constructor(
    name: string,
    private readonly path: string,
    starter: boolean,
    private readonly instances: Map<string, MatrixInstance>,
    /** The instances it may resume on. */
    private readonly where: string[],
    private readonly random: Random,
  ) {
    this.trace = { name, segments: [], events: [], done: false };
    this.method = starter ? 'POST' : 'GET';
  }

  /** The instance of its open stream, if any. */
  get on(): string | undefined {
    const segment = this.trace.segments.at(-1);
    return segment && segment.status === 200 && segment.endedAt === undefined ? segment.instance : undefined;
  }

  get done(): boolean {
    return this.trace.done || this.stopped;
  }

  /** Connects to `on`, again until a stream opens (or the reader is done). */
  connect(on: string): Promise<void> {
    return this.reconnect(on, 0);
  }

  /** Drops its stream and resumes on `to`, with its last id. */
  reset(to: string): Promise<void> {
    if (this.done) return Promise.resolve();
    this.closeStream();
    return this.reconnect(to, 50);
  }

  untilDone(ms: number): Promise<void> {
    return within(ms, `${this.trace.name} getting its 204`, this.doneReached).catch(() => undefined);
  }

  stop(): void {
    this.stopped = true;
    this.closeStream();
  }

  private closeStream(): void {
    this.current = {};
    const segment = this.trace.segments.at(-1);
    if (segment && segment.endedAt === undefined) {
      segment.endedAt = Date.now();
      segment.endedBy = 'test';
    }
    this.stream?.close();
  }

  private async reconnect(to: string | undefined, firstDelay: number): Promise<void> {
    const token = (this.current = {});
    for (let attempt = 0; attempt < 80 && !this.done && this.current === token; attempt++) {
      await sleep(attempt === 0 ? firstDelay : Math.min(50 * 2 ** attempt, 500));
      if (this.done || this.current !== token) return;
      try {
        if (await this.attach(attempt === 0 && to ? to : this.random.pick(this.where), token)) return;
      } catch (error) {
        this.lastError = (error as Error).message;
      }
    }
  }

  /** One connection; whether it was answered (200 or 204) rather than refused. */
  private async attach(on: string, token: object): Promise<boolean> {
    const instance = this.instances.get(on)!;
    const openedAt = Date.now();
    const lastEventId = this.lastEventId;
    const method = this.method;
    const stream = await openSseStream(
      instance.url,
      method === 'POST' ? this.path : this.path.split('?')[0],
      {
        method,
        headers: lastEventId ? { 'last-event-id': lastEventId } : {},
        timeout: 60_000,
      },
    );
    if (this.current !== token) {
      stream.close();
      return true;
    }
    if (stream.status !== 200 && stream.status !== 204) {
      stream.close();
      throw new Error(`${this.trace.name}: ${method} on ${on} answered ${stream.status}: ${stream.body}`);
    }
    const segment =
      this.trace.segments.push({ instance: on, method, lastEventId, openedAt, status: stream.status }) - 1;
    this.method = 'GET';
    if (stream.status === 204) {
      stream.close();
      Object.assign(this.trace.segments[segment], { endedAt: Date.now(), endedBy: 'server' });
      this.trace.done = true;
      this.reachDone?.();
      return true;
    }
    this.stream = stream;
    void this.read(stream, segment, token);
    return true;
  }

  private async read(stream: SseTestStream, segment: number, token: object): Promise<void> {
    for (;;) {
      let event;
      try {
        event = await stream.nextEvent();
      } catch {
        if (stream.ended) break;
        continue;
      }
      if (this.current !== token) break;
      this.trace.events.push({
        event: event.event ?? 'message',
        id: event.id,
        data: event.data,
        at: Date.now(),
        segment,
      });
      // EventSource keeps the last id it got: a resync carries none.
      if (event.id !== undefined) this.lastEventId = event.id;
    }
    const trace = this.trace.segments[segment];
    if (this.current !== token || trace.endedAt !== undefined) return;
    trace.endedAt = Date.now();
    trace.endedBy = 'server';
    await this.reconnect(undefined, 50);
  }
}

/** The runs of one schedule: started, read, aborted as planned; their trace for the checker. */
export class MatrixRuns {
  private readonly traces: RunTrace[] = [];
  private readonly clients: RunClient[] = [];
  private readonly tasks: Array<Promise<void>> = [];

  constructor(
    private readonly plans: RunPlan[],
    private readonly instances: Map<string, MatrixInstance>,
    private readonly random: Random,
    private readonly note: (line: string) => void,
    /**
     * Whether the transport keeps runs where every instance reads them (a run store): if not,
     * each instance keeps its own, and a run's readers read it on its instance only.
     */
    private readonly shared: boolean,
  ) {}

  /** Starts each run at its time (from now). */
  start(): void {
    for (const plan of this.plans) this.tasks.push(this.run(plan));
  }

  /** A fault begins: while an instance is stopped, half of its run readers go elsewhere (with their last id). */
  onFault(fault: Fault, stopped: string | undefined): void {
    if (fault.kind !== 'sigstop' || !stopped) return;
    const elsewhere = this.shared ? [...this.instances.keys()].filter((name) => name !== stopped) : [];
    for (const client of this.clients)
      if (client.on === stopped && elsewhere.length > 0 && this.random.chance(0.5))
        void client.reset(this.random.pick(elsewhere));
  }

  /** Resolves once every run was started and each reader got its 204 (or `ms` passed). */
  async settle(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    await within(ms, 'the runs starting', Promise.all(this.tasks)).catch(() => undefined);
    await Promise.all(this.clients.map((client) => client.untilDone(Math.max(0, deadline - Date.now()))));
  }

  /** The trace: each run's status from `from`, and what every instance still holds of runs (waited for, up to `ms`). */
  async trace(from: MatrixInstance, storeMayLose: boolean, ms: number): Promise<RunsTrace> {
    for (const run of this.traces) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          // Runs kept in each process are read where they were produced.
          const where = this.shared ? from : this.instances.get(run.on)!;
          run.status = await within(5_000, 'runStatus', where.runStatus(run.key));
          run.statusError = undefined;
          break;
        } catch (error) {
          run.statusError = (error as Error).message;
          if (Date.now() > deadline) break;
          await sleep(250);
        }
      }
    }
    const held: RunsTrace['held'] = [];
    for (const [name, instance] of this.instances) {
      const deadline = Date.now() + ms;
      for (;;) {
        const stats = await within(5_000, 'runs', instance.runs()).catch((error: Error) => ({
          active: NaN,
          readers: NaN,
          error: error.message,
        }));
        if ((stats.active === 0 && stats.readers === 0) || Date.now() > deadline) {
          held.push({ instance: name, ...stats });
          break;
        }
        await sleep(200);
      }
    }
    return { runs: this.traces, storeMayLose, held };
  }

  /** One line of what the runs did. */
  summary(): string {
    const ends = new Map<string, number>();
    for (const run of this.traces) {
      const end = run.statusError ? 'unknown' : (run.status?.status ?? 'gone');
      ends.set(end, (ends.get(end) ?? 0) + 1);
    }
    const readers = this.clients.length;
    const tokens = this.clients.reduce(
      (sum, c) => sum + c.trace.events.filter((e) => e.event === 't').length,
      0,
    );
    const connections = this.clients.reduce((sum, c) => sum + c.trace.segments.length, 0);
    const how = [...ends].map(([end, n]) => `${n} ${end}`).join(', ');
    return `${this.traces.length} runs (${how}), ${readers} run readers got ${tokens} tokens over ${connections} connections`;
  }

  stop(): void {
    for (const client of this.clients) client.stop();
  }

  private async run(plan: RunPlan): Promise<void> {
    const trace: RunTrace = {
      id: plan.id,
      key: `run:${plan.id}`,
      on: plan.on,
      plan: { events: plan.events, end: plan.end, failAfter: plan.failAfter },
      readers: [],
    };
    const query = `?events=${plan.events}&every=${plan.every}${plan.failAfter ? `&fail=${plan.failAfter}` : ''}`;
    await sleep(plan.startAt);
    this.traces.push(trace);
    const startedAt = Date.now();
    const where = this.shared ? [...this.instances.keys()] : [plan.on];
    const readers = plan.readers.map((reader, i) => {
      const client = new RunClient(
        `run${plan.id}.${i}`,
        `/matrix/runs/${plan.id}${query}`,
        i === 0,
        this.instances,
        where,
        this.random.fork(`run${plan.id}.${i}`),
      );
      this.clients.push(client);
      trace.readers.push(client.trace);
      return { client, ...reader, on: this.shared ? reader.on : plan.on };
    });
    const [starter, ...others] = readers;
    // The run exists once its starter is answered: the others join from then on.
    await starter.client.connect(starter.on);
    // Its POST may have been answered elsewhere (refused where it was meant to go).
    trace.on = starter.client.trace.segments.find((segment) => segment.status === 200)?.instance ?? trace.on;
    const at = (ms: number) => sleep(ms - (Date.now() - startedAt));
    const resets = readers.flatMap(({ client, resets }) =>
      resets.map(async (ms) => {
        await at(ms);
        await client.reset(this.random.pick(where));
      }),
    );
    const joins = others.map(async ({ client, on, joinAt }) => {
      await at(joinAt);
      await client.connect(on);
    });
    const abort = plan.abortAt === undefined ? undefined : this.abort(plan, trace, at);
    await Promise.all([...resets, ...joins, abort]);
  }

  private async abort(plan: RunPlan, trace: RunTrace, at: (ms: number) => Promise<void>): Promise<void> {
    await at(plan.abortAt!);
    const from = this.shared ? plan.abortFrom! : plan.on;
    trace.abort = { from, at: Date.now(), errors: [] };
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        trace.abort.result = await this.instances.get(from)!.abortRun(trace.key);
        return;
      } catch (error) {
        trace.abort.errors.push((error as Error).message.split('\n')[0]);
        if (Date.now() > deadline)
          return this.note(`abortRun of ${trace.key} on ${from}: ${trace.abort.errors.at(-1)}`);
        await sleep(200);
      }
    }
  }
}
