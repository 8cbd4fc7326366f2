// A throwaway redis-server for the benchmarks across instances, on a free loopback port,
// without persistence (no RDB snapshots, no append-only file): nothing is written to disk.
const { execFileSync, spawn } = require('node:child_process');
const { freePort } = require('./port');

/** The arguments that turn persistence off, as the benchmarks say in their output. */
const NO_PERSISTENCE = ['--save', '', '--appendonly', 'no'];

async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...NO_PERSISTENCE], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on(
      'data',
      (chunk) => (output += chunk) && output.includes('Ready to accept connections') && resolve(),
    );
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  const version = /v=(\d+\.\d+\.\d+)/.exec(
    execFileSync('redis-server', ['--version'], { encoding: 'utf8' }),
  )?.[1];
  return { url: `redis://127.0.0.1:${port}`, version, stop: () => child.kill('SIGKILL') };
}

module.exports = { startRedis };
