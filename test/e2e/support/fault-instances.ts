import { type ChildProcess, fork } from 'node:child_process';
import { resolve } from 'node:path';
import { SseHub, type SsePresence, type SseRunStatus, type SseTransport } from '../../../src';
import {
  makeTransport,
  MATRIX_CONTROLLERS,
  MatrixController,
  runTurn,
  type Settlement,
  transportReady,
  type TransportConfig,
  type TurnItem,
  type TurnMode,
} from './fault-app';
import { startApp, type TestApp } from './start-app';

/** One instance of the matrix's app, wherever it runs: what the run does with it. */
export interface MatrixInstance {
  readonly name: string;
  readonly url: string;
  /** Broadcasts a turn; `called` and `settled` hear of each call as it happens. Resolves when the turn is over. */
  turn(
    items: TurnItem[],
    mode: TurnMode,
    called: (value: string, at: number) => void,
    settled: (settlement: Settlement) => void,
  ): Promise<void>;
  presence(): Promise<SsePresence>;
  /** Whether its transport says it is up. */
  up(): Promise<boolean>;
  /** `SseHub.closeUser(user)` on it. */
  closeUser(user: string): Promise<void>;
  /** Why each stream it ended ended, by the stream's id (those a client closed are not there). */
  endReasons(): Promise<Record<string, string>>;
  /** `SseHub.abortRun(key)` on it. */
  abortRun(key: string): Promise<boolean>;
  /** `SseHub.runStatus(key)` on it (null: no run). */
  runStatus(key: string): Promise<SseRunStatus | null>;
  /** What it holds of runs: those it produces (`stats().runs.active`) and its clients that read one. */
  runs(): Promise<{ active: number; readers: number }>;
  /** Why it is not alive, or undefined. */
  whyNotAlive(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Rejects after `ms` with `what`. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)),
  );
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** An instance in the test's own process (startApp, the run's HTTP platform). */
export class InProcessInstance implements MatrixInstance {
  private constructor(
    readonly name: string,
    private readonly app: TestApp,
    private readonly hub: SseHub,
    /** Its transport (for what an app does on it directly: PostgresTransport.publishIn). */
    readonly transport: SseTransport,
    private readonly dispose: () => void,
  ) {}

  static async start(name: string, config: TransportConfig): Promise<InProcessInstance> {
    const { transport, dispose } = makeTransport(config);
    const app = await startApp({ controllers: MATRIX_CONTROLLERS }, { transport });
    await within(30_000, `instance ${name} reading its transport`, transportReady(transport));
    return new InProcessInstance(name, app, app.app.get(SseHub), transport, dispose);
  }

  get url(): string {
    return this.app.url;
  }

  /** What the app logged (errors and warnings), for a failure's report. */
  get logs(): string {
    return this.app.logger.text();
  }

  turn(
    items: TurnItem[],
    mode: TurnMode,
    called: (value: string, at: number) => void,
    settled: (settlement: Settlement) => void,
  ): Promise<void> {
    return runTurn(this.hub, items, mode, called, settled);
  }

  presence(): Promise<SsePresence> {
    return this.hub.presence();
  }

  async up(): Promise<boolean> {
    return this.hub.stats().transport.up;
  }

  closeUser(user: string): Promise<void> {
    return this.hub.closeUser(user);
  }

  async endReasons(): Promise<Record<string, string>> {
    return Object.fromEntries(this.app.app.get(MatrixController).endedBy);
  }

  abortRun(key: string): Promise<boolean> {
    return this.hub.abortRun(key);
  }

  async runStatus(key: string): Promise<SseRunStatus | null> {
    return (await this.hub.runStatus(key)) ?? null;
  }

  async runs(): Promise<{ active: number; readers: number }> {
    const { active, readers } = this.hub.stats().runs;
    return { active, readers };
  }

  async whyNotAlive(): Promise<string | undefined> {
    return this.app.app.getHttpServer().listening ? undefined : 'its HTTP server stopped listening';
  }

  async close(): Promise<void> {
    await within(20_000, `closing instance ${this.name}`, this.app.app.close()).finally(this.dispose);
  }
}

type Reply = { id: number; ok: boolean; result?: unknown; error?: string };
type Report =
  { event: 'called'; value: string; at: number } | ({ event: 'settled' } & Settlement) | { event: 'loaded' };

/**
 * The process the instance in a process of its own runs in (fault-instance.child.ts), started
 * once per spec file and given an app per run; started again if it died.
 */
export class InstanceProcess {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  private readonly calls = new Map<
    string,
    { called: (value: string, at: number) => void; settled: (settlement: Settlement) => void }
  >();
  /** The end of its stderr, for a failure's report. */
  stderr = '';

  get process(): ChildProcess | undefined {
    return this.child;
  }

  /** Why the process is gone, or undefined while it runs. */
  get exited(): string | undefined {
    const child = this.child;
    if (!child) return 'not started';
    if (child.exitCode !== null) return `exited with ${child.exitCode}`;
    if (child.signalCode !== null) return `killed by ${child.signalCode}`;
    return undefined;
  }

  private async spawn(): Promise<void> {
    const dir = resolve(__dirname);
    const child = fork(resolve(dir, 'fault-instance.child.ts'), [], {
      execArgv: ['--require', resolve(dir, 'ts-require.js'), '--expose-gc'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child = child;
    child.stderr!.on(
      'data',
      (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-20_000)),
    );
    child.on('message', (message: Reply | Report) => this.receive(message));
    child.once('exit', (code, signal) => {
      for (const { reject } of this.waiting.values())
        reject(new Error(`the instance process exited (${code ?? signal}):\n${this.stderr.slice(-4000)}`));
      this.waiting.clear();
    });
    await within(
      60_000,
      'the instance process loading the sources',
      new Promise<void>((resolve, reject) => {
        child.once('exit', (code) =>
          reject(new Error(`the instance process exited with ${code} while loading:\n${this.stderr}`)),
        );
        child.on('message', (message: Report) => message.event === 'loaded' && resolve());
      }),
    );
  }

  private receive(message: Reply | Report): void {
    if ('id' in message) {
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.ok) waiter?.resolve(message.result);
      else waiter?.reject(new Error(`the instance process failed: ${message.error}`));
    } else if (message.event === 'called') this.calls.get(message.value)?.called(message.value, message.at);
    else if (message.event === 'settled') {
      const { value, at, outcome, error } = message;
      this.calls.get(value)?.settled({ value, at, outcome, error });
      this.calls.delete(value);
    }
  }

  request<T>(cmd: string, payload: object = {}): Promise<T> {
    const child = this.child;
    if (!child || this.exited) return Promise.reject(new Error(`the instance process is ${this.exited}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ id, cmd, ...payload });
    });
  }

  /** An app on `config` in the process (started, or started again, first). */
  async start(name: string, config: TransportConfig): Promise<MatrixInstance> {
    if (!this.child || this.exited) await this.spawn();
    const { port } = await within(
      30_000,
      `instance ${name} starting`,
      this.request<{ port: number }>('start', { config }),
    );
    return {
      name,
      url: `http://127.0.0.1:${port}`,
      turn: (items, mode, called, settled) => {
        for (const item of items) this.calls.set(item.value, { called, settled });
        return this.request('turn', { items, mode });
      },
      presence: () => this.request<SsePresence>('presence'),
      up: () => this.request<boolean>('up'),
      closeUser: (user) => this.request<null>('closeUser', { user }).then(() => undefined),
      endReasons: () => this.request<Record<string, string>>('endReasons'),
      abortRun: (key) => this.request<boolean>('abortRun', { key }),
      runStatus: (key) => this.request<SseRunStatus | null>('runStatus', { key }),
      runs: () => this.request<{ active: number; readers: number }>('runs'),
      whyNotAlive: async () =>
        this.exited ??
        (await within(10_000, 'ping', this.request('ping')).then(
          () => undefined,
          (error: Error) => error.message,
        )),
      close: () => within(20_000, `closing instance ${name}`, this.request('stop')).then(() => undefined),
    };
  }

  /** Its heap in use after a GC, and the largest seen since its app started. */
  heap(): Promise<{ retained: number; peak: number }> {
    return within(10_000, 'heap', this.request('heap'));
  }

  private stops = 0;

  /** Stops the process (SIGSTOP) until as many `resume()`: stops may overlap. */
  pause(): void {
    if (this.stops++ === 0 && !this.exited) this.child!.kill('SIGSTOP');
  }

  resume(): void {
    this.stops = Math.max(0, this.stops - 1);
    if (this.stops === 0 && !this.exited) this.child!.kill('SIGCONT');
  }

  /** Lets it run whatever stops were left (the end of a run). */
  release(): void {
    this.stops = 0;
    if (!this.exited) this.child!.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || this.exited) return;
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}
