import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Controller } from '@nestjs/common';
import { interval, map } from 'rxjs';
import { SseRoute } from 'nestjs-sse-hub';
import { openSseStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

@Controller('testing')
class TickingController {
  // Events every 10 ms and never a comment (no keepalive).
  @SseRoute('ticks', { keepAlive: false })
  ticks() {
    return interval(10).pipe(map((n) => ({ event: 'tick', data: n })));
  }
}

describe('SseTestStream, the testing helper', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startApp({ controllers: [TickingController] })));
  afterAll(() => t.app.close());

  // Each wait used to restart its timer on every message that passed: while ticks kept
  // coming, nextComment() neither resolved nor rejected, and Jest's own timeout failed the test.
  it('nextComment() rejects after its timeout while events keep arriving', async () => {
    const stream = await openSseStream(t.url, '/testing/ticks', { timeout: 500 });
    try {
      await stream.nextEvent();
      await expect(stream.nextComment()).rejects.toThrow(/500 ms/);
      // The events passed over while it waited were read, so the stream is still live.
      expect((await stream.nextEvent()).event).toBe('tick');
    } finally {
      stream.close();
    }
  });

  it('take(n) has one deadline for all n events', async () => {
    const stream = await openSseStream(t.url, '/testing/ticks', { timeout: 500 });
    try {
      // 10,000 ticks take 100 s; each one arrives well within 500 ms of the one before.
      await expect(stream.take(10_000)).rejects.toThrow(/500 ms/);
    } finally {
      stream.close();
    }
  });

  it('close() on a stream whose response has ended lets the process exit', async () => {
    if (!existsSync(resolve('dist/testing/index.js')))
      throw new Error('dist/ is missing: run `npm run build` first (npm test does).');
    const child = spawn(process.execPath, [resolve('test/e2e/support/close-ended-stream.child.js')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
    // Before the fix the child never exited: it is killed when the test ends either way,
    // so that a failure here cannot keep Jest from exiting too.
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      const [code, signal] = await once(child, 'exit');
      expect({ code, signal, output }).toEqual({ code: 0, signal: null, output: '' });
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
    }
  });
});
