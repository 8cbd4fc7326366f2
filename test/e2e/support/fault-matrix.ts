import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  checkTrace,
  type CloseUserRecord,
  describeViolations,
  type InstanceReport,
  presenceProblems,
  type Trace,
  type Violation,
} from './fault-checker';
import { type TransportConfig } from './fault-app';
import { MatrixClient } from './fault-clients';
import { checkRuns, type RunsTrace } from './fault-run-checker';
import { drawRuns, MatrixRuns } from './fault-runs';
import { InProcessInstance, InstanceProcess, type MatrixInstance, within } from './fault-instances';
import {
  describeSchedule,
  drawSchedule,
  type Fault,
  type FaultKind,
  freshSeed,
  planRuns,
  Random,
  replayHint,
  type Schedule,
  type ScheduleShape,
  SERVER_FAULTS,
  transportSelected,
} from './fault-schedule';
import { broadcastSurely, publish, Recorder, sleep, type Workload } from './fault-workload';
import { TcpProxy } from './tcp-proxy';

/**
 * The fault matrix (issue 20, part 2): for one transport, schedules drawn from seeds, each
 * run on real Nest apps while a workload broadcasts, resumable runs are produced and read
 * (fault-runs.ts) and faults are injected, then settled and checked (fault-checker.ts,
 * fault-run-checker.ts). `npm test` runs a couple of seeds;
 * `npm run test:faults` runs fresh ones for minutes (see planRuns), and prints how to replay
 * a seed that failed.
 */
export interface FaultMatrixHarness {
  /** Its name for FAULT_TRANSPORT. */
  name: string;
  title: string;
  /** False when what it needs (a server binary) is missing here. */
  available?: boolean;
  /** Instances in the test's process (A, B); with `processInstance`, one more in a process of its own (C), for SIGSTOP. */
  inProcess: 1 | 2;
  processInstance?: boolean;
  /** The instances that broadcast. */
  publishers: string[];
  shape: Omit<ScheduleShape, 'instances' | 'processInstance'>;
  /** The servers (ports) whose every connection goes through a proxy, one per instance. */
  servers?(): number[];
  /** The transport of an instance on `topic`; `via(port)`: the port its connections to a server go to (its proxy's). */
  transport(
    topic: string,
    options: { maxLen: number; presenceTtl: number; via: (port: number) => number },
  ): TransportConfig;
  /** The errors a broadcast of a value that encodes may be refused with while faults run. */
  refusals: string[];
  /** The faults after which the run store may have lost writes (default: a restart, a failover, a master killed). */
  losesRunWrites?: FaultKind[];
  /** An idempotency key lives as long as its message is kept (PostgreSQL: its row): `maxLen` messages later it may be forgotten. */
  keysLiveWithHistory?: boolean;
  /** Injects a fault on the server itself (restart, failover…); resolves once it is over. */
  inject?(fault: Fault, run: MatrixRun): Promise<void>;
  /** Before the instances start (a table left empty…): what it did, for the report. */
  prepare?(topic: string, random: Random): Promise<string | undefined>;
  /** More publishers (app transactions), until the workload is over. */
  sources?(run: MatrixRun): Array<Promise<void>>;
  beforeAll?(): Promise<void>;
  afterAll?(): Promise<void>;
}

/** What a harness sees of a run. */
export interface MatrixRun extends Workload {
  readonly topic: string;
  /** The port instance `name` reaches server `port` on: its proxy's. */
  via(name: string, port: number): number;
  /** An instance in the test's process (for `publishIn` on its transport). */
  inProcess(name: string): InProcessInstance;
}

const SETTLE_BOUND_MS = 30_000;
const END_WAIT_MS = 30_000;
const HEAP_GROWTH_BOUND = 256 * 1024 * 1024;
const CHILD_HEAP_BOUND = 200 * 1024 * 1024;
const CHILD_PEAK_BOUND = 400 * 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export function describeFaultMatrix(harness: FaultMatrixHarness, ciSeeds: readonly number[]): void {
  const selected = harness.available !== false && transportSelected(harness.name);
  (selected ? describe : describe.skip)(`fault matrix: ${harness.title}`, () => {
    const host = harness.processInstance ? new InstanceProcess() : undefined;
    const ran: Array<{ seed: number; outcome: 'held' | 'failed' | 'inconclusive' }> = [];
    const started = Date.now();
    beforeAll(async () => harness.beforeAll?.(), 180_000);
    afterAll(async () => {
      await host?.stop();
      await harness.afterAll?.();
      const seeds = (outcome: string) => ran.filter((run) => run.outcome === outcome).map((run) => run.seed);
      const [failed, inconclusive] = [seeds('failed'), seeds('inconclusive')];
      console.log(
        `fault matrix ${harness.name}: ${ran.length} schedule(s) in ${((Date.now() - started) / 1000).toFixed(0)} s; ` +
          `${failed.length ? `failed seeds: ${failed.join(', ')}` : 'no failure'}${inconclusive.length ? `; inconclusive (a fault could not be injected): ${inconclusive.join(', ')}` : ''}`,
      );
    }, 120_000);

    /**
     * Runs a schedule and throws what it broke. One whose server fault could not be injected
     * (a cluster that did not heal) is inconclusive: with `replace`, a fresh seed runs
     * instead (twice at most); else it fails, saying so.
     */
    const runOne = async (seed: number, replace: boolean): Promise<void> => {
      const result = await runSchedule(harness, seed, host).catch((error: Error) => ({
        violations: [{ invariant: 'harness', detail: error.stack ?? error.message }],
        report: '',
        inconclusive: [],
      }));
      const outcome =
        result.inconclusive.length > 0 ? 'inconclusive' : result.violations.length > 0 ? 'failed' : 'held';
      ran.push({ seed, outcome });
      if (outcome === 'inconclusive') {
        const why = `fault matrix ${harness.name}, seed ${seed} is inconclusive: ${result.inconclusive.join('; ')}`;
        if (replace && ran.filter((run) => run.outcome === 'inconclusive').length <= 2) {
          console.warn(`${why}\n${result.report}\n  a fresh seed runs instead`);
          return runOne(freshSeed(), replace);
        }
        throw new Error(`${why}\n${result.report}\n  replay: ${replayHint(seed, harness.name)}`);
      }
      if (outcome === 'failed') {
        throw new Error(
          `fault matrix ${harness.name}, seed ${seed}: ${result.violations.length} violation(s)\n${describeViolations(result.violations)}\n${result.report}\n  replay: ${replayHint(seed, harness.name)}`,
        );
      }
    };

    const plan = planRuns(ciSeeds);
    for (const seed of plan.seeds ?? [])
      it(
        `holds every invariant through the schedule of seed ${seed}`,
        () => runOne(seed, !plan.given),
        300_000,
      );
    if (plan.minutes !== undefined) {
      const minutes = plan.minutes;
      it(
        `holds every invariant through fresh schedules for ${minutes} min`,
        async () => {
          const failures: string[] = [];
          for (const deadline = Date.now() + minutes * 60_000; Date.now() < deadline;)
            await runOne(freshSeed(), false).catch((error: Error) => failures.push(error.message));
          const failed = ran.filter((run) => run.outcome === 'failed').length;
          if (failed > 0)
            throw new Error(`${failed} of ${ran.length} schedules failed:\n\n${failures.join('\n\n')}`);
          // Inconclusive ones are said, not failed: unless none could be run at all.
          if (failures.length > 0) console.warn(failures.join('\n\n'));
          if (ran.every((run) => run.outcome === 'inconclusive'))
            throw new Error(`no schedule could be run:\n${failures.join('\n\n')}`);
        },
        minutes * 60_000 + 300_000,
      );
    }
  });
}

/** Runs the schedule of `seed` and checks it: its violations, the faults that could not be injected, and what to print with them. */
async function runSchedule(
  harness: FaultMatrixHarness,
  seed: number,
  host: InstanceProcess | undefined,
): Promise<{ violations: Violation[]; inconclusive: string[]; report: string }> {
  const t0 = Date.now();
  const names = [...'AB'.slice(0, harness.inProcess), ...(host ? ['C'] : [])];
  const schedule = drawSchedule(seed, {
    ...harness.shape,
    instances: names,
    processInstance: host ? 'C' : undefined,
  });
  const topic = `fm${seed.toString(36)}${randomUUID().slice(0, 6)}`;
  const random = new Random(seed);
  const recorder = new Recorder();
  const notes: string[] = [];
  const instances = new Map<string, MatrixInstance>();
  const proxies = new Map<string, Map<number, TcpProxy>>();
  const clients: MatrixClient[] = [];
  const closes: CloseUserRecord[] = [];
  const crashes: string[] = [];
  const faultFailures: string[] = [];
  const onCrash = (error: unknown) => crashes.push(String((error as Error)?.stack ?? error));
  let over = false;
  let stopRuns = () => undefined as void;
  const run: MatrixRun = {
    seed,
    topic,
    random,
    recorder,
    openKeys: new Map(),
    get over() {
      return over;
    },
    note: (line) => notes.push(`+${Date.now() - t0} ms ${line}`),
    via: (name, port) => proxies.get(name)!.get(port)!.port,
    inProcess: (name) => instances.get(name) as InProcessInstance,
  };
  process.on('unhandledRejection', onCrash);
  process.on('uncaughtException', onCrash);
  try {
    const prepared = await harness.prepare?.(topic, random.fork('prepare'));
    if (prepared) notes.push(prepared);
    for (const name of names) {
      const map = new Map<number, TcpProxy>();
      for (const port of harness.servers?.() ?? []) map.set(port, await TcpProxy.start(port));
      proxies.set(name, map);
    }
    const config = (name: string) =>
      harness.transport(topic, {
        maxLen: schedule.maxLen,
        presenceTtl: harness.shape.presenceTtl,
        via: (port) => run.via(name, port),
      });
    for (const name of names)
      instances.set(
        name,
        name === 'C'
          ? await host!.start(name, config(name))
          : await InProcessInstance.start(name, config(name)),
      );
    gc();
    const heapBefore = process.memoryUsage().heapUsed;

    const isEnd = (data: string) => data.startsWith('end#');
    const addClient = async (
      on: string,
      channels: string[],
      user: string | undefined,
      stolen?: { from: string; id: string },
    ) => {
      const client = new MatrixClient(`c${clients.length}`, channels, user, instances, isEnd);
      clients.push(client);
      if ((await client.connect(on, stolen)) === 'refused')
        notes.push(`${client.trace.name} in ${JSON.stringify(channels)} was refused (400)`);
    };
    for (const { on, channels, user } of schedule.clients) await addClient(on, channels, user);
    const runs = new MatrixRuns(
      drawRuns(random.fork('runs'), names, schedule, host ? 'C' : undefined),
      instances,
      random.fork('run-readers'),
      run.note,
      // The instance in a process of its own has the same transport as those here.
      [...instances.values()].every(
        (instance) => !(instance instanceof InProcessInstance) || instance.transport.runStore !== undefined,
      ),
    );
    stopRuns = () => runs.stop();

    // The workload and the faults, together; the workload goes on a little after the last fault.
    const publishers = harness.publishers.map((name) => publish(instances.get(name)!, run, harness.refusals));
    const sources = harness.sources?.(run) ?? [];
    let serverFaults = Promise.resolve();
    const inject = (fault: Fault): Promise<void> => {
      if (!SERVER_FAULTS.has(fault.kind)) return injectHere(fault);
      // One at a time; one that failed does not fail the next.
      const done = serverFaults.then(() => harness.inject!(fault, run));
      serverFaults = done.catch(() => undefined);
      return done;
    };
    const injectHere = async (fault: Fault): Promise<void> => {
      const targets =
        'target' in fault
          ? [...proxies]
              .filter(([name]) => fault.target === 'all' || fault.target === name)
              .flatMap(([, map]) => [...map.values()])
          : [];
      switch (fault.kind) {
        case 'cut':
          return void targets.forEach((proxy) => proxy.cut());
        case 'refuse':
          targets.forEach((proxy) => proxy.refuse(fault.ms));
          return sleep(fault.ms);
        case 'stall':
          targets.forEach((proxy) => proxy.stall());
          await sleep(fault.ms);
          return targets.forEach((proxy) => proxy.resume());
        case 'slow': {
          const undo = targets.map((proxy) => proxy.slow(fault.delayMs));
          await sleep(fault.ms);
          return undo.forEach((restore) => restore());
        }
        case 'sigstop':
          host!.pause();
          runs.onFault(fault, 'C');
          await sleep(fault.ms);
          return host!.resume();
        case 'hop':
          return clients[fault.client]?.hop(fault.to);
        case 'leave':
          return clients[fault.client]?.leave();
        case 'arrive':
          return addClient(fault.on, fault.channels, fault.user);
        case 'steal': {
          const victim = clients[fault.from];
          const id = victim.firstEventId;
          notes.push(
            `+${Date.now() - t0} ms c${clients.length} (user ${JSON.stringify(fault.user)}) arrives with ` +
              (id
                ? `the Last-Event-ID ${id} of ${victim.trace.name} (user ${JSON.stringify(victim.trace.user)})`
                : 'no id: its victim had none yet'),
          );
          return addClient(
            fault.on,
            fault.channels,
            fault.user,
            id ? { from: victim.trace.name, id } : undefined,
          );
        }
        case 'close-user': {
          const close: CloseUserRecord = {
            user: fault.user,
            from: fault.from,
            calledAt: Date.now(),
            outcome: 'pending',
          };
          closes.push(close);
          try {
            await instances.get(fault.from)!.closeUser(fault.user);
            Object.assign(close, { outcome: 'accepted', settledAt: Date.now() });
          } catch (error) {
            const { name, message } = error as Error;
            Object.assign(close, { outcome: 'rejected', settledAt: Date.now(), error: { name, message } });
          }
          return void notes.push(
            `+${Date.now() - t0} ms closeUser(${JSON.stringify(fault.user)}) ${close.outcome}`,
          );
        }
      }
    };
    const faultsStart = Date.now();
    runs.start();
    await Promise.all(
      schedule.faults.map(async ({ at, fault }) => {
        await sleep(at - (Date.now() - faultsStart));
        notes.push(`+${Date.now() - t0} ms ${fault.kind} begins`);
        await inject(fault).then(
          () => notes.push(`+${Date.now() - t0} ms ${fault.kind} over`),
          (error: Error) => {
            notes.push(`+${Date.now() - t0} ms ${fault.kind} failed: ${error.message}`);
            faultFailures.push(`${fault.kind}: ${error.message.split('\n')[0]}`);
          },
        );
      }),
    );
    await sleep(Math.max(0, schedule.windowMs - (Date.now() - faultsStart)));
    const faultsStoppedAt = Date.now();
    await sleep(1_000);
    over = true;

    // Settle: every call settles; every transport is up; a last broadcast from each publisher, then the end marker.
    const settleBy = faultsStoppedAt + SETTLE_BOUND_MS;
    await within(SETTLE_BOUND_MS, 'the workload ending', Promise.all([...publishers, ...sources])).catch(
      (error: Error) => notes.push(error.message),
    );
    while (recorder.pending > 0 && Date.now() < settleBy) await sleep(100);
    const downAtEnd: string[] = [];
    for (const [name, instance] of instances) {
      const deadline = Date.now() + 30_000;
      while (!(await instance.up().catch(() => false)) && Date.now() < deadline) await sleep(200);
      if (!(await instance.up().catch(() => false))) downAtEnd.push(name);
    }
    for (const name of harness.publishers)
      if (!(await broadcastSurely(instances.get(name)!, recorder, 20_000)))
        notes.push(`${name}: no broadcast accepted in 20 s after the faults`);
    const endSent = await broadcastSurely(instances.get(harness.publishers[0])!, recorder, 20_000, {
      key: `end-${topic}`,
      value: (attempt) => `end#${attempt}`,
    });
    if (!endSent) notes.push('the end marker was never accepted');
    await Promise.all(
      clients.filter((client) => !client.trace.gone).map((client) => client.untilEnd(END_WAIT_MS)),
    );
    await runs.settle(END_WAIT_MS);

    // Presence converges: every open stream once, no other.
    const presence = await converge(
      instances,
      clients,
      harness.shape.presenceTtl * 3 + 15_000,
      // Every presence store keeps each stream's user.
      true,
    );

    const endReasons: Record<string, Record<string, string>> = {};
    for (const [name, instance] of instances) {
      const reasons = await within(10_000, `${name}: endReasons`, instance.endReasons()).catch(
        () => undefined,
      );
      if (reasons) endReasons[name] = reasons;
    }
    gc();
    const reports: InstanceReport[] = [];
    for (const [name, instance] of instances) {
      const why =
        (await instance.whyNotAlive()) ??
        (downAtEnd.includes(name) ? 'its transport was still down 30 s after the faults' : undefined);
      reports.push({ name, alive: why === undefined, why });
      const heap = name === 'C' ? await host!.heap().catch(() => undefined) : undefined;
      if (heap) {
        Object.assign(reports.at(-1)!, { heapBytes: heap.retained, heapBound: CHILD_HEAP_BOUND });
        reports.push({
          name: `${name} (its peak during the run)`,
          alive: true,
          heapBytes: heap.peak,
          heapBound: CHILD_PEAK_BOUND,
        });
      }
    }
    reports.push({
      name: `the test's process (${names.filter((name) => name !== 'C').join(', ')}: growth)`,
      alive: crashes.length === 0,
      why: crashes.join('\n'),
      heapBytes: process.memoryUsage().heapUsed - heapBefore,
      heapBound: HEAP_GROWTH_BOUND,
    });
    const trace: Trace = {
      startedAt: t0,
      keyForgottenAfter: harness.keysLiveWithHistory ? schedule.maxLen : undefined,
      faultsStoppedAt,
      settleBoundMs: SETTLE_BOUND_MS,
      broadcasts: recorder.broadcasts,
      clients: clients.map((client) => client.trace),
      instances: reports,
      presence,
      closes,
      endReasons,
    };
    const losesRunWrites = new Set(harness.losesRunWrites ?? ['restart', 'failover', 'kill-master']);
    const runsTrace: RunsTrace = await runs.trace(
      instances.get(names[0])!,
      schedule.faults.some(({ fault }) => losesRunWrites.has(fault.kind)),
      harness.shape.presenceTtl * 3 + 10_000,
    );
    const violations = [...checkTrace(trace), ...checkRuns(runsTrace)];
    const open = clients.filter((client) => client.present).length;
    const heaps = reports
      .filter((report) => report.heapBytes !== undefined)
      .map((report) => `${report.name.split(' (')[0]} ${(report.heapBytes! / 1024 / 1024).toFixed(0)} MB`);
    const summary = `${summarize(harness.name, schedule, trace, Date.now() - t0)}; ${runs.summary()}; presence of ${open} streams on ${instances.size} instance(s); heap: ${heaps.join(', ')}`;
    console.log(
      process.env.FAULT_VERBOSE ? `${summary}\n${describeSchedule(schedule)}\n${notes.join('\n')}` : summary,
    );
    if (violations.length === 0 && faultFailures.length === 0)
      return { violations, inconclusive: [], report: '' };
    const file = join(tmpdir(), 'nestjs-sse-hub-faults', `${harness.name}-${seed}.json`);
    mkdirSync(join(tmpdir(), 'nestjs-sse-hub-faults'), { recursive: true });
    const logs = Object.fromEntries(
      [...instances].map(([name, instance]) => [
        name,
        instance instanceof InProcessInstance ? instance.logs.slice(-20_000) : (host?.stderr ?? ''),
      ]),
    );
    writeFileSync(
      file,
      JSON.stringify(
        {
          seed,
          schedule,
          notes,
          violations,
          trace,
          runs: runsTrace,
          logs,
          clientErrors: clients.map((client) => client.lastError),
        },
        null,
        1,
      ),
    );
    return {
      violations,
      inconclusive: faultFailures,
      report: `  ${summary}\n  schedule:\n${describeSchedule(schedule)}\n  notes:\n${notes.map((note) => `    ${note}`).join('\n')}\n  trace: ${file}`,
    };
  } finally {
    over = true;
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
    host?.release();
    for (const client of clients) client.stop();
    stopRuns();
    for (const instance of instances.values())
      await instance.close().catch((error: Error) => notes.push(error.message));
    for (const map of proxies.values()) for (const proxy of map.values()) await proxy.close();
  }
}

/** Polls every instance's presence() until each lists exactly the open streams, for at most `ms`; what is still wrong then. */
async function converge(
  instances: Map<string, MatrixInstance>,
  clients: MatrixClient[],
  ms: number,
  keepsUser: boolean,
): Promise<Trace['presence']> {
  const deadline = Date.now() + ms;
  for (;;) {
    const open = clients.map((client) => client.present).filter((entry) => entry !== undefined);
    const results = await Promise.all(
      [...instances].map(async ([instance, on]) => ({
        instance,
        problems: await on.presence().then(
          (presence) => presenceProblems(open, presence, keepsUser),
          (error: Error) => [`presence() failed: ${error.message}`],
        ),
      })),
    );
    if (results.every((result) => result.problems.length === 0) || Date.now() > deadline) return results;
    await sleep(250);
  }
}

/** One line of what a run did. */
function summarize(name: string, schedule: Schedule, trace: Trace, ms: number): string {
  const count = (outcome: string) => trace.broadcasts.filter((record) => record.outcome === outcome).length;
  const resyncs = trace.clients.reduce(
    (sum, client) => sum + client.events.filter((event) => event.event === 'resync').length,
    0,
  );
  const reconnects = trace.clients.reduce((sum, client) => sum + Math.max(0, client.segments.length - 1), 0);
  const received = trace.clients.reduce(
    (sum, client) => sum + client.events.filter((event) => event.event === 'n').length,
    0,
  );
  const faults = schedule.faults.map(({ fault }) => fault.kind).join(', ');
  const byUsers = new Set(trace.broadcasts.filter((record) => record.users).map((record) => record.value));
  const usersGot = trace.clients.reduce(
    (sum, client) =>
      sum + client.events.filter((event) => event.event === 'n' && byUsers.has(event.data)).length,
    0,
  );
  const closes = (trace.closes ?? []).map((close) => `${JSON.stringify(close.user)} ${close.outcome}`);
  return `fault matrix ${name} seed ${schedule.seed}: ${trace.broadcasts.length} calls (${count('accepted')} accepted, ${count('rejected')} refused, ${count('rolled-back')} rolled back; ${byUsers.size} to users); ${trace.clients.length} clients received ${received} events (${usersGot} to users), ${resyncs} resyncs, ${reconnects} reconnects; closeUser: ${closes.join(', ') || 'none'}; faults: ${faults}; ${(ms / 1000).toFixed(1)} s`;
}
