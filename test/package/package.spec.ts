import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSseStream } from 'nestjs-sse-hub/testing';
import { makeApp, ROOT, type Run, run, runNpm, startApp } from './support/user-app';

// The library as a user gets it: `npm pack` from a checkout without dist/ (its prepack
// builds), checked as a registry and TypeScript see it, then installed into fresh Nest 11
// and Nest 12 apps made of the README's own code (docs/examples), type-checked under each
// moduleResolution with strict on, and run. Installs take the npm cache's time: minutes.
//
// Most of it is waiting on npm and tsc, one process each. Both apps install side by side
// as soon as the tarball is packed (while its own checks run), and each app's compilations
// start once it is installed, two tsc at a time for the file (each is one core's work),
// each test awaiting the one it checks: Nest 12's compile while Nest 11's app runs. A
// program is compiled once: the legacy commonjs tsconfig's build is its type-check too (the
// same program and options: tsc fails on a type error whether or not it emits), and the
// starter build serves both tests that run it.
const SETUP = 600_000;
const STEP = 180_000;
/** tsc processes at once, for the whole file: a 2-core machine runs another test file beside it. */
const COMPILERS = 2;

const work = mkdtempSync(join(tmpdir(), 'nestjs-sse-hub-package-'));
const tarball = join(work, 'nestjs-sse-hub.tgz');
let files: string[] = [];

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs `task` when one of COMPILERS slots is free. */
const slots: Array<() => void> = [];
let busy = 0;
async function inSlot<T>(task: () => Promise<T>): Promise<T> {
  if (busy >= COMPILERS) await new Promise<void>((resolve) => slots.push(resolve));
  else busy++;
  try {
    return await task();
  } finally {
    const next = slots.shift();
    if (next) next();
    else busy--;
  }
}

/** A fresh app of the README's code in `work/<name>`, installed, and its compilations. */
class UserApp {
  readonly dir: string;
  private readonly compiled = new Map<string, Promise<Run>>();
  private installed?: Promise<void>;

  constructor(
    private readonly name: 'nest11' | 'nest12',
    /** Each as `tsc()`'s arguments: what the tests will ask for, started as soon as the app is installed. */
    private readonly compilations: Array<[project: string, check?: 'check']>,
  ) {
    this.dir = join(work, name);
  }

  /** Made and installed (npm), then its compilations started; called once the tarball is packed. */
  install(): void {
    this.installed = (async () => {
      makeApp(this.name, this.dir);
      await runNpm(['install', '--no-audit', '--no-fund', '--prefer-offline'], this.dir, SETUP);
      for (const [project, check] of this.compilations) void this.tsc(project, check);
    })();
    // Awaited by the app's beforeAll, which reports a failure: not an unhandled rejection meanwhile.
    this.installed.catch(() => undefined);
  }

  async ready(): Promise<void> {
    if (!this.installed) throw new Error('The tarball was not packed: see the first failure.');
    await this.installed;
  }

  /** `tsc -p <project>` (`--noEmit` with `check`) in the app, run once: its result. */
  tsc(project: string, check?: 'check'): Promise<Run> {
    const key = `${project} ${check ?? 'emit'}`;
    let result = this.compiled.get(key);
    if (!result) {
      const args = check ? ['--noEmit', '-p', project] : ['-p', project];
      const tsc = join(this.dir, 'node_modules', '.bin', 'tsc');
      this.compiled.set(key, (result = inSlot(() => run(tsc, args, this.dir, STEP))));
    }
    return result;
  }

  /** Fails with tsc's output unless `tsc -p <project>` passed. */
  async passes(project: string, check?: 'check'): Promise<void> {
    const { code, output } = await this.tsc(project, check);
    if (code !== 0)
      throw new Error(`tsc${check ? ' --noEmit' : ''} -p ${project} in a fresh app:\n${output}`);
  }
}

const nest11 = new UserApp('nest11', [
  ['tsconfig.json', 'check'],
  ['tsconfig.commonjs.json'],
  ['tsconfig.bundler.json', 'check'],
  ['tsconfig.build.json'],
]);
const nest12 = new UserApp('nest12', [
  ['tsconfig.json', 'check'],
  ['tsconfig.bundler.json', 'check'],
  ['tsconfig.build.json'],
]);

beforeAll(async () => {
  // A checkout as a contributor has it after `npm ci`: the sources and node_modules, no dist/.
  const checkout = join(work, 'checkout');
  for (const entry of [
    'src',
    'package.json',
    'tsconfig.json',
    'tsconfig.build.json',
    'tsconfig.client-esm.json',
    'README.md',
    'CHANGELOG.md',
    'LICENSE',
  ]) {
    cpSync(join(ROOT, entry), join(checkout, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir');
  const [packed] = JSON.parse(
    await runNpm(['pack', '--json', '--pack-destination', work], checkout),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  cpSync(join(work, packed.filename), tarball);
  files = packed.files.map((file) => file.path).sort();
  // Both apps install now, while the tarball's own checks run.
  nest11.install();
  nest12.install();
}, SETUP);

describe('the packed tarball', () => {
  it('is built by npm pack, with every entry point and its types, README, CHANGELOG and LICENSE', () => {
    for (const entry of [
      '',
      'testing/',
      'redis/',
      'datastar/',
      'terminus/',
      'postgres/',
      'client/',
      'client/esm/',
    ]) {
      expect(files).toContain(`dist/${entry}index.js`);
      expect(files).toContain(`dist/${entry}index.d.ts`);
    }
    // The client's ES-module build is marked as such for Node and bundlers.
    expect(files).toContain('dist/client/esm/package.json');
    expect(files).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'LICENSE', 'package.json']));
  });

  it('holds nothing but the build and those files: no tests, demo, sources or source maps', () => {
    const others = files.filter(
      (file) =>
        !/^dist\/.+\.(js|d\.ts)$/.test(file) &&
        !['README.md', 'CHANGELOG.md', 'LICENSE', 'package.json', 'dist/client/esm/package.json'].includes(
          file,
        ),
    );
    expect(others).toEqual([]);
  });

  it(
    'passes publint (strict) and Are the Types Wrong? under node10, node16 and bundler',
    async () => {
      const publint = await run(
        join(ROOT, 'node_modules', '.bin', 'publint'),
        ['--strict', tarball],
        ROOT,
        STEP,
      );
      expect(publint).toMatchObject({ code: 0 });
      const attw = await run(
        join(ROOT, 'node_modules', '.bin', 'attw'),
        [tarball, '--format', 'table-flipped'],
        ROOT,
        STEP,
      );
      if (attw.code !== 0) throw new Error(attw.output);
    },
    STEP,
  );
});

/** The Quick start, driven from outside against an app the user built and started. */
async function useTheRoom(url: string): Promise<void> {
  const post = (message: object) =>
    fetch(`${url}/rooms/lobby/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
    });
  const ann = await openSseStream(url, '/rooms/lobby/events');
  const bob = await openSseStream(url, '/rooms/lobby/events');
  try {
    expect(ann.status).toBe(200);
    expect(ann.headers['content-type']).toBe('text/event-stream');
    expect((await ann.nextEvent()).event).toBe('welcome');
    const bobId = JSON.parse((await bob.nextEvent()).data).id as string;
    expect((await post({ from: 'ann', to: bobId, text: 'psst' })).status).toBe(201);
    expect((await post({ from: 'ann', text: 'hello all' })).status).toBe(201);
    expect(JSON.parse((await bob.nextEvent()).data)).toEqual({ from: 'ann', to: bobId, text: 'psst' });
    // Ann's first message is the public one: the private one never reached her.
    const seen = await ann.nextEvent();
    expect(JSON.parse(seen.data)).toEqual({ from: 'ann', text: 'hello all' });
    expect(seen.id).toMatch(/^\d+-\d+$/);
    ann.close();
    await post({ from: 'bob', text: 'missed it?' });
    const back = await openSseStream(url, '/rooms/lobby/events', { headers: { 'last-event-id': seen.id! } });
    expect((await back.nextEvent()).event).toBe('welcome');
    expect(JSON.parse((await back.nextEvent()).data)).toEqual({ from: 'bob', text: 'missed it?' });
    back.close();
  } finally {
    ann.close();
    bob.close();
  }
}

describe('a fresh Nest 11 app (CommonJS) with the README pasted in', () => {
  const { dir } = nest11;
  beforeAll(() => nest11.ready(), SETUP);

  it.each([
    ['the starter tsconfig (module nodenext)', 'tsconfig.json', 'check'],
    // It emits (no noEmit of its own): its build, which the test below runs, is its type-check.
    ['a legacy tsconfig (module commonjs: node10 resolution)', 'tsconfig.commonjs.json', undefined],
    ['moduleResolution bundler', 'tsconfig.bundler.json', 'check'],
  ] as const)(
    'type-checks with strict on under %s',
    (_, project, check) => nest11.passes(project, check),
    STEP,
  );

  it.each([
    ['built with the starter tsconfig', ['-p', 'tsconfig.build.json'], 'dist/main.js'],
    [
      'built with the legacy commonjs tsconfig',
      ['-p', 'tsconfig.commonjs.json'],
      'dist-commonjs/src/main.js',
    ],
  ])(
    'runs %s: the stream, a POST broadcast, a private message, a reconnect',
    async (_, args, main) => {
      await nest11.passes((args as string[])[1]);
      const app = await startApp(main as string, dir);
      try {
        await useTheRoom(app.url);
      } finally {
        await app.stop();
      }
    },
    STEP,
  );

  it(
    "starts the README's dashboard module beside the Quick start, and refuses what a newcomer gets wrong with what to do",
    async () => {
      await nest11.passes('tsconfig.build.json');
      // Each app as a user would assemble it from the README's modules, started and closed.
      writeFileSync(
        join(dir, 'first-contact.js'),
        `require('reflect-metadata');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { SseModule } = require('nestjs-sse-hub');
const { AppModule } = require('./dist/app.module');
const { DashboardModule } = require('./dist/guide/dashboard.module');
const { ChatController } = require('./dist/chat.controller');

async function attempt(name, metadata) {
  const Root = { [name]: class {} }[name];
  Module(metadata)(Root);
  try {
    const app = await NestFactory.create(Root, { logger: false, abortOnError: false });
    await app.init();
    await app.close();
    return name + ': started';
  } catch (error) {
    return name + ': ' + error.name + ': ' + error.message;
  }
}

(async () => {
  @@ATTEMPTS@@
})();
`.replace(
          '@@ATTEMPTS@@',
          [
            "console.log(await attempt('WithDashboard', { imports: [AppModule, DashboardModule] }));",
            'class NotificationsModule {}',
            'Module({ imports: [SseModule.forRoot({ keepAlive: 1000 })] })(NotificationsModule);',
            "console.log(await attempt('TwoHubs', { imports: [AppModule, NotificationsModule] }));",
            "console.log(await attempt('NoSseModule', { controllers: [ChatController] }));",
          ].join('\n  '),
        ),
      );
      const result = await run(process.execPath, ['first-contact.js'], dir, STEP);
      expect(result.code).toBe(0);
      const lines = result.stdout.trim().split('\n');
      expect(lines[0]).toBe('WithDashboard: started');
      expect(lines[1]).toMatch(
        /^TwoHubs: SseModuleImportedTwiceError: SseModule\.forRoot\(\) \(or forRootAsync\(\)\) is imported 2 times, by AppModule, NotificationsModule/,
      );
      expect(lines[2]).toMatch(/^NoSseModule: SseModuleMissingError: .*add SseModule\.forRoot\(\)/);
    },
    STEP,
  );

  it(
    'reads the running app with nestjs-sse-hub/client, required and imported, and loads no Nest or rxjs for it',
    async () => {
      await nest11.passes('tsconfig.build.json');
      writeFileSync(
        join(dir, 'client-check.cjs'),
        `const client = require('nestjs-sse-hub/client');
const loaded = Object.keys(require.cache).filter((file) => /node_modules[\\\\/](@nestjs|rxjs)[\\\\/]/.test(file));
console.log('loaded', loaded.length);
const first = (stream, event) =>
  new Promise((resolve, reject) => {
    stream.on(event, resolve);
    stream.onError(reject);
  });
(async () => {
  const esm = await import('nestjs-sse-hub/client');
  const url = process.argv[2];
  for (const [how, { createSseClient }] of [['require', client], ['import', esm]]) {
    const stream = createSseClient(url + '/rooms/lobby/events');
    const welcome = await first(stream, 'welcome');
    stream.close();
    console.log(how, typeof welcome.id, stream.status);
  }
  const missing = client.createSseClient(url + '/nowhere');
  const error = await new Promise((resolve) => missing.onError(resolve));
  console.log(error.name, error.status, error.willRetry, missing.status, error instanceof client.SseClientError);
})();
`,
      );
      const app = await startApp('dist/main.js', dir);
      try {
        const result = await run(process.execPath, ['client-check.cjs', app.url], dir, STEP);
        if (result.code !== 0) throw new Error(result.output);
        expect(result.stdout.trim().split('\n')).toEqual([
          'loaded 0',
          'require string closed',
          'import string closed',
          'SseClientError 404 false closed true',
        ]);
      } finally {
        await app.stop();
      }
    },
    STEP,
  );

  it(
    "runs the README's test with Jest, which exits by itself",
    async () => {
      const result = await run(
        join(dir, 'node_modules', '.bin', 'jest'),
        ['--config', './test/jest-e2e.json', '--ci'],
        dir,
        STEP,
      );
      if (result.code !== 0)
        throw new Error(`The README's test failed or Jest did not exit:\n${result.output}`);
      expect(result.output).toMatch(/Tests:\s+1 passed, 1 total/);
    },
    STEP + 10_000,
  );
});

describe('a fresh Nest 12 app (ES modules) with the README pasted in', () => {
  const { dir } = nest12;
  beforeAll(() => nest12.ready(), SETUP);

  it.each([
    ['module nodenext', 'tsconfig.json'],
    ['moduleResolution bundler', 'tsconfig.bundler.json'],
  ])('type-checks with strict on under %s', (_, project) => nest12.passes(project, 'check'), STEP);

  it(
    'runs: the stream, a POST broadcast, a private message, a reconnect',
    async () => {
      await nest12.passes('tsconfig.build.json');
      expect(existsSync(join(dir, 'dist', 'main.js'))).toBe(true);
      const app = await startApp('dist/main.js', dir);
      try {
        await useTheRoom(app.url);
      } finally {
        await app.stop();
      }
    },
    STEP,
  );
});
