import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { openSseStream } from 'nestjs-sse-hub/testing';

// test/nest12/esm-app: NestJS 12, "type": "module", the library installed from its packed
// tarball (test/nest12/install.cjs, run by npm test). Run once, in the Express project.
const APP = resolve('test/nest12/esm-app/main.js');

describe('an ES-module app on NestJS 12 that imports the packed library', () => {
  /** `promise`, or a failure after 12 s that names what did not happen and shows the app's stderr. */
  const deadline = async <T>(promise: Promise<T>, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `waited 12 s for ${what} (the app has ${child.exitCode === null && child.signalCode === null ? 'not exited' : 'exited'}); its stderr:\n${stderr.join('')}`,
            ),
          ),
        12_000,
      );
    });
    try {
      return await Promise.race([promise, late]);
    } finally {
      clearTimeout(timer);
    }
  };

  let child: ChildProcess;
  let url: string;
  let nest: string;
  const stderr: string[] = [];

  beforeAll(async () => {
    child = spawn(process.execPath, [APP], {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const exited = once(child, 'exit').then(([code]) => {
      throw new Error(`the ESM app exited with ${code} before it was ready:\n${stderr.join('')}`);
    });
    const lines = createInterface({ input: child.stdout! });
    const ready = once(lines, 'line').then(
      ([line]) => JSON.parse(line as string) as { port: number; nest: string },
    );
    const { port, nest: version } = await Promise.race([ready, exited]);
    url = `http://127.0.0.1:${port}`;
    nest = version;
  });
  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('runs on NestJS 12', () => {
    expect(nest).toMatch(/^12\./);
  });

  it('streams, joins channels and broadcasts through the hub', async () => {
    const [a, b] = await Promise.all([
      openSseStream(url, '/rooms/a/events'),
      openSseStream(url, '/rooms/b/events'),
    ]);
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('text/event-stream');
    expect(await a.nextEvent()).toMatchObject({
      event: 'welcome',
      data: expect.stringContaining('"room":"a"'),
    });
    expect((await b.nextEvent()).event).toBe('welcome');
    const said = await fetch(`${url}/rooms/a/say`, { method: 'POST' });
    expect(said.status).toBe(201);
    expect(await a.nextEvent()).toMatchObject({ event: 'said', data: '{"room":"a"}' });
    await fetch(`${url}/rooms/b/say`, { method: 'POST' });
    expect(await b.nextEvent()).toMatchObject({ event: 'said', data: '{"room":"b"}' });
    a.close();
    b.close();
  });

  it("ends its streams with a retry and exits through Nest's shutdown hooks on SIGTERM", async () => {
    const stream = await openSseStream(url, '/rooms/z/events');
    await stream.nextEvent();
    const exit = once(child, 'exit');
    child.kill('SIGTERM');
    // Each step bounded, so that a hang says which step it was and what the app wrote.
    await deadline(stream.closed(), 'the stream to end after SIGTERM');
    expect(stream.body).toMatch(/retry: \d+\n\n$/);
    // Nest's shutdown hooks close the app, then raise the signal again for the default exit.
    const [code, signal] = await deadline(exit, 'the app to exit after its stream ended');
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGTERM' });
    expect(stderr.join('')).toBe('');
  });
});
