import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SERVERS = [
  'raw',
  'net-floor',
  'hub',
  'hub-metrics',
  'hub-fastify',
  'hub-fastify-metrics',
  'nest-sse',
  'better-sse',
  'sse-channel',
  'nest-raw',
];
// Measured in the memory and heap modes only: what a channel and a presence entry cost per stream.
const MEMORY_ONLY = ['hub-channel', 'hub-presence'];
const OWNERS = ['node:http', 'framework', 'nest', 'library', 'strings', 'closures', 'other'];

interface BenchMedians {
  burstDeliveriesPerSec: number | null;
  singleLastP50Ms: number | null;
  singleLastP99Ms: number | null;
  singleFirstP50Ms: number | null;
  singleFirstP99Ms: number | null;
  memoryBytesPerStream: Record<string, number | null>;
  heapUsedBytesPerStream: number | null;
  heapTotalBytesPerStream: number | null;
  heapOwners: { totalPerStream: number; ownersPerStream: Record<string, number> } | null;
}

interface BenchResults {
  machine: { cpus: number; node: string; date: string };
  failures: string[];
  config: { memoryPoints: number[] };
  medians: Record<string, BenchMedians>;
  samples: { burst: Record<string, Array<{ metrics?: { sentEvents: number } }>> };
  comparisons: Array<{ name: string; against: string; burstRatio: number | null }>;
  memoryCosts: Array<{ name: string; against: string; heapUsedBytesPerStream: number | null }>;
}

interface RunsPass {
  expected: number;
  delivered: number;
  failureCount: number;
  tokensPerSec: number;
  latencyMs: { p50: number; p99: number };
}

interface RunsResults {
  failures: string[];
  scenarios: Array<{
    name: string;
    rounds: Record<'plain' | 'runs', RunsPass[]>;
    summary: {
      addedP50Ms: number;
      addedP99Ms: number;
      routes: Record<'plain' | 'runs', { tokensPerSec: number; memoryPerRun: Record<string, number | null> }>;
    };
  }>;
}

/** Runs a benchmark (`script` in bench/) as CI would, with its output kept for the failure message. */
function runBench(
  env: NodeJS.ProcessEnv,
  script = 'run.js',
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bench', script)], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** The environment without BENCH_* variables: one from the shell must not make CI run a full benchmark. */
function envWithoutBench(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('BENCH_')));
}

describe('fan-out benchmark (BENCH_QUICK=1)', () => {
  let resultsDir: string;

  beforeAll(() => {
    resultsDir = mkdtempSync(join(tmpdir(), 'sse-bench-'));
  });

  afterAll(() => {
    rmSync(resultsDir, { recursive: true, force: true });
  });

  it('measures every server in every mode and writes its results elsewhere than bench/results', async () => {
    if (!existsSync(join(ROOT, 'dist', 'index.js'))) {
      throw new Error(
        'dist/index.js is missing: the benchmark runs the built library. Run `npm run build` first (`npm test` does).',
      );
    }
    const { code, output } = await runBench({
      ...envWithoutBench(),
      BENCH_QUICK: '1',
      BENCH_RESULTS_DIR: resultsDir,
    });
    expect({ code, output: code === 0 ? 'ok' : output }).toEqual({ code: 0, output: 'ok' });

    const file = join(resultsDir, 'latest.json');
    expect(existsSync(file)).toBe(true);
    expect(existsSync(join(resultsDir, 'latest.md'))).toBe(true);
    expect(existsSync(join(resultsDir, 'chart.svg'))).toBe(true);
    const results = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
    expect(results.failures).toEqual([]);
    expect(results.machine.cpus).toBeGreaterThan(0);
    expect(Object.keys(results.medians).sort()).toEqual([...SERVERS, ...MEMORY_ONLY].sort());
    expect(results.config.memoryPoints.length).toBeGreaterThan(0);
    for (const server of [...SERVERS, ...MEMORY_ONLY]) {
      const medians = results.medians[server];
      for (const point of results.config.memoryPoints) {
        expect({ server, point, memory: Number.isFinite(medians.memoryBytesPerStream[point]) }).toEqual({
          server,
          point,
          memory: true,
        });
      }
      expect({
        server,
        heap: [medians.heapUsedBytesPerStream, medians.heapTotalBytesPerStream].every(Number.isFinite),
      }).toEqual({ server, heap: true });
      // The heap snapshot was taken and summed by owner: every owner has a number, and the heap grew.
      const owners = medians.heapOwners?.ownersPerStream ?? {};
      expect({
        server,
        owners: Object.keys(owners).sort(),
        finite: Object.values(owners).every(Number.isFinite),
        grew: (medians.heapOwners?.totalPerStream ?? 0) > 0,
      }).toEqual({ server, owners: [...OWNERS].sort(), finite: true, grew: true });
    }
    for (const server of SERVERS) {
      const medians = results.medians[server];
      // Named, so that a failure says which server.
      expect({ server, burst: medians.burstDeliveriesPerSec! > 0 }).toEqual({ server, burst: true });
      for (const latency of [
        medians.singleLastP50Ms,
        medians.singleLastP99Ms,
        medians.singleFirstP50Ms,
        medians.singleFirstP99Ms,
      ]) {
        // Measured: a number, not the null of a phase without a complete sample. Not "> 0": the
        // send and arrival times come from two processes' clocks (timeOrigin + now()), and a
        // first client's sub-millisecond latency can come out at or just below zero.
        expect({ server, latency: Number.isFinite(latency) && latency! > -5 }).toEqual({
          server,
          latency: true,
        });
      }
    }
    // The memory-only servers ran in no burst, and are compared with hub for memory.
    for (const server of MEMORY_ONLY) expect(results.samples.burst[server]).toEqual([]);
    expect(
      results.memoryCosts.map(({ name, against, heapUsedBytesPerStream }) => [
        name,
        against,
        Number.isFinite(heapUsedBytesPerStream),
      ]),
    ).toEqual([
      ['hub-channel', 'hub', true],
      ['hub-presence', 'hub-channel', true],
    ]);
    // The metrics variants really recorded into their SDK (run.js fails the run when the counts are off), and are compared with metrics off.
    for (const server of ['hub-metrics', 'hub-fastify-metrics']) {
      expect({
        server,
        recorded: results.samples.burst[server].every((s) => s.metrics!.sentEvents > 0),
      }).toEqual({ server, recorded: true });
    }
    expect(
      results.comparisons.map(({ name, against, burstRatio }) => [name, against, burstRatio! > 0]),
    ).toEqual([
      ['hub-metrics', 'hub', true],
      ['hub-fastify-metrics', 'hub-fastify', true],
    ]);
  }, 240_000); // ~80 s alone; beside another Jest worker on a loaded machine, up to twice that
});

describe('resumable-runs benchmark (5 runs of 20 tokens, in process)', () => {
  let resultsDir: string;

  beforeAll(() => {
    resultsDir = mkdtempSync(join(tmpdir(), 'sse-bench-runs-'));
  });

  afterAll(() => {
    rmSync(resultsDir, { recursive: true, force: true });
  });

  it('delivers every token to both readers of each run, measures both routes, writes runs.*', async () => {
    if (!existsSync(join(ROOT, 'dist', 'index.js'))) {
      throw new Error(
        'dist/index.js is missing: the benchmark runs the built library. Run `npm run build` first.',
      );
    }
    const { code, output } = await runBench(
      {
        ...envWithoutBench(),
        BENCH_RUNS: '5',
        BENCH_RUN_TOKENS: '20',
        BENCH_RUNS_WARM: '5',
        BENCH_RUNS_SCENARIOS: 'one',
        BENCH_RESULTS_DIR: resultsDir,
      },
      'runs.js',
    );
    expect({ code, output: code === 0 ? 'ok' : output }).toEqual({ code: 0, output: 'ok' });
    expect(existsSync(join(resultsDir, 'runs.md'))).toBe(true);
    const results = JSON.parse(readFileSync(join(resultsDir, 'runs.json'), 'utf8')) as RunsResults;
    expect(results.failures).toEqual([]);
    expect(results.scenarios.map((scenario) => scenario.name)).toEqual(['one']);
    const [{ rounds, summary }] = results.scenarios;
    for (const route of ['plain', 'runs'] as const) {
      // 5 runs, 2 readers each, 20 tokens each: every one counted once, in order, by the client.
      expect(
        rounds[route].map(({ expected, delivered, failureCount }) => [expected, delivered, failureCount]),
      ).toEqual([[200, 200, 0]]);
      const [pass] = rounds[route];
      expect({
        route,
        measured: [pass.tokensPerSec, pass.latencyMs.p50, pass.latencyMs.p99].every(Number.isFinite),
      }).toEqual({
        route,
        measured: true,
      });
      const memory = summary.routes[route].memoryPerRun;
      expect({
        route,
        memory: [memory.rssRunning, memory.heapUsedRunning, memory.rssAfter, memory.heapUsedAfter].every(
          Number.isFinite,
        ),
      }).toEqual({ route, memory: true });
    }
    expect([summary.addedP50Ms, summary.addedP99Ms].every(Number.isFinite)).toBe(true);
  }, 60_000); // ~6 s alone
});
