import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

export const ROOT = join(__dirname, '..', '..', '..');
const EXAMPLES = join(ROOT, 'docs', 'examples');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

export interface Run {
  code: number | null;
  /** What it printed, stdout then stderr. */
  output: string;
  stdout: string;
}

/** Runs a command to its end (at most `timeout` ms), with its output kept for the failure message. */
export async function run(
  command: string,
  args: string[],
  cwd: string,
  timeout = 300_000,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, {
      cwd,
      timeout,
      env,
      maxBuffer: 64 * 1024 * 1024,
      killSignal: 'SIGKILL',
    });
    return { code: 0, output: stdout + stderr, stdout };
  } catch (error) {
    const failed = error as {
      code?: number;
      killed?: boolean;
      stdout?: string;
      stderr?: string;
      message: string;
    };
    const why = failed.killed ? `killed after ${timeout} ms` : `exit code ${String(failed.code)}`;
    return {
      code: typeof failed.code === 'number' ? failed.code : null,
      output: `${why}\n${failed.stdout ?? ''}${failed.stderr ?? failed.message}`,
      stdout: failed.stdout ?? '',
    };
  }
}

/** `npm …` in `cwd`: its stdout, or a failure in npm's own words. */
export async function runNpm(args: string[], cwd: string, timeout?: number): Promise<string> {
  const result = await run(npm, args, cwd, timeout);
  if (result.code !== 0) throw new Error(`npm ${args.join(' ')} in ${cwd} failed: ${result.output}`);
  return result.stdout;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/**
 * A fresh app in `dir`: the template of test/package/apps/<name> (package.json and
 * tsconfigs as the starter has them), then docs/examples (the README's code) as it is,
 * except that an ES-module app's relative imports get their `.js`, as its author writes them.
 */
export function makeApp(name: 'nest11' | 'nest12', dir: string): void {
  mkdirSync(dir, { recursive: true });
  cpSync(join(ROOT, 'test', 'package', 'apps', name), dir, { recursive: true });
  for (const file of filesUnder(EXAMPLES)) {
    const target = join(dir, relative(EXAMPLES, file));
    mkdirSync(join(target, '..'), { recursive: true });
    let code = readFileSync(file, 'utf8');
    if (name === 'nest12') code = code.replace(/(from '\.{1,2}\/[^']+)'/g, "$1.js'");
    writeFileSync(target, code);
  }
}

/** The app's `main.js` running, with the URL it printed. */
export interface RunningApp {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startApp(main: string, cwd: string): Promise<RunningApp> {
  const child = spawn(process.execPath, [main], {
    cwd,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`${main} exited with ${String(code)} before it listened:\n${output.join('')}`);
  });
  const lines = createInterface({ input: child.stdout! });
  const listening = new Promise<string>((resolve) => {
    lines.on('line', (line: string) => {
      output.push(line + '\n');
      // Nest's logger colours its lines: the URL ends where the colour does.
      const url = /Listening on ([^\s\x1b]+)/.exec(line)?.[1];
      if (url) resolve(url.replace('[::1]', '127.0.0.1'));
    });
  });
  const url = await Promise.race([listening, exited]);
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}
