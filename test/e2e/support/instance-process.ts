import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * An app instance in a process of its own (instance.child.js, on the build), to kill
 * without a goodbye. `env` picks its transport: REDIS_URL (or REDIS_CLUSTER, the root nodes
 * as JSON) and STREAM, or DATABASE_URL and TABLE; PRESENCE_TTL.
 */
export async function spawnInstance(
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess }> {
  if (!existsSync(resolve('dist/index.js')))
    throw new Error('dist/ is missing: run `npm run build` first (npm test does).');
  const child = spawn(process.execPath, [resolve('test/e2e/support/instance.child.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`the instance exited with ${String(code)} before it was ready:\n${stderr}`);
  });
  const ready = once(createInterface({ input: child.stdout! }), 'line').then(
    ([line]) => JSON.parse(line as string) as { port: number },
  );
  const { port } = await Promise.race([ready, exited]);
  return { url: `http://127.0.0.1:${port}`, child };
}

/** Polls `check` until it holds, for at most `ms` (what is awaited is a clock: a TTL running out); returns how long it took. */
export async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - started;
}
