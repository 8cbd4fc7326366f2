/**
 * Unit tests (pure, milliseconds) once; the e2e suite (real Nest apps on loopback ports)
 * in full on NestJS 11 with Express, and the specs where the HTTP platform or NestJS's
 * version matters again on Fastify and under NestJS 12 (see PLATFORM below). NestJS 12 is
 * ES modules only: those runs compile the same files to ES modules and resolve packages
 * from test/nest12 first (installed by `npm test`). SSE_PLATFORM is set per project by a
 * setup file. Each project's time and slowest files end the output (SSE_SLOWEST=n for more).
 */
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { availableParallelism } = require('node:os');

const NEST12 = 'test/nest12/node_modules';
const shared = {
  testEnvironment: 'node',
  rootDir: '.',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  moduleNameMapper: {
    '^nestjs-sse-hub$': '<rootDir>/src/index.ts',
    '^nestjs-sse-hub/testing$': '<rootDir>/src/testing/index.ts',
    '^nestjs-sse-hub/redis$': '<rootDir>/src/redis/index.ts',
    '^nestjs-sse-hub/datastar$': '<rootDir>/src/datastar/index.ts',
    '^nestjs-sse-hub/terminus$': '<rootDir>/src/terminus/index.ts',
    '^nestjs-sse-hub/postgres$': '<rootDir>/src/postgres/index.ts',
    '^nestjs-sse-hub/client$': '<rootDir>/src/client/index.ts',
    // src/client imports with `.js`, as its ES-module build needs: Jest finds the .ts.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
};

const e2e = (nest, platform, testRegex, ignore = []) => ({
  ...shared,
  displayName: `e2e nest${nest} ${platform}`,
  roots: ['<rootDir>/test/e2e'],
  testRegex,
  setupFiles: [`<rootDir>/test/e2e/support/platform.${platform}.js`],
  testPathIgnorePatterns: ['/node_modules/', ...ignore],
  ...(nest === 11 && {
    // @nestjs/terminus 12 is ES modules only, which Jest cannot load into CommonJS runs before Node 24.9.
    transform: {
      ...shared.transform,
      '/node_modules/@nestjs/terminus/.+\\.js$': '<rootDir>/test/support/esm-package.transformer.js',
    },
    transformIgnorePatterns: ['/node_modules/(?!@nestjs/terminus/)'],
  }),
  ...(nest === 12 && {
    transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'test/nest12/tsconfig.json', useESM: true }] },
    extensionsToTreatAsEsm: ['.ts'],
    // Absolute, so searched first from every file: one NestJS 12 (and one rxjs) for all.
    moduleDirectories: [join(__dirname, NEST12), 'node_modules'],
  }),
});

// Which e2e specs run on which row. Every spec runs on the first row (NestJS 11, Express);
// the other three rows (Fastify; NestJS 12 on each) run only the specs where what they
// change can change the outcome, so that CI's minutes go to what a row can catch:
// - PLATFORM: the HTTP platform matters. Anything that reads the request (headers, query,
//   body, HEAD, Last-Event-ID) or writes to the socket (status before the first byte,
//   backpressure, coalesced writes, slow consumers cut off), raw or malformed HTTP, TLS,
//   Unix sockets, a client going away, shutdown, and what the platform serves or labels
//   (the dashboard's page, metrics' route label). These run on all four rows.
// - NEST: the platform does not matter but Nest's integration might (module options and
//   async providers, gateway hooks found on controllers, terminus): also on NestJS 12, once.
// - The rest is the library's own logic behind the HTTP layer, identical on every row:
//   the hub and its model test, presence, stats, replay, re-entrant hooks, logs, the
//   testing helper, the transports (conformance, the fault matrix, Redis, PostgreSQL and
//   their secrets), the browser tests (Chromium against an Express app), the benchmark's
//   smoke run and the ES-module app (their own processes). These run on the first row only.
const PLATFORM = [
  'adversary',
  'bounds',
  'client',
  'coalescing',
  'dashboard',
  'datastar',
  'errors',
  'faults',
  'lifecycle',
  'limits',
  'metrics',
  'pipeline',
  'release',
  'routes',
  'runs',
  'users',
];
const NEST = ['gateway', 'health', 'module'];
// HTTP/2 is Fastify's (Express has none): both Fastify rows.
const HTTP2 = 'http2';
// The attacks on resumable runs: HTTP shapes that differ by platform, not by NestJS version
// (the runs' own routes, runs.e2e-spec, cover NestJS 12): NestJS 11, once per platform.
const RUN_ATTACKS = 'runs-attacks';
// The at-scale tests (10,000 streams, a minute each) run on NestJS 11, once per platform:
// NestJS 12 adds no code path under load, and CI's time is better spent elsewhere.
const SCALE = 'scale';
const only = (names) => [`/(${names.join('|')})\\.e2e-spec\\.ts$`];

const projects = [
  { ...shared, displayName: 'unit', roots: ['<rootDir>/test/unit'], testRegex: '\\.spec\\.ts$' },
  // The packed tarball, and fresh user apps (Nest 11 and 12) made of the README's code.
  { ...shared, displayName: 'package', roots: ['<rootDir>/test/package'], testRegex: '\\.spec\\.ts$' },
  e2e(11, 'express', ['\\.e2e-spec\\.ts$'], [`/${HTTP2}\\.e2e-spec`]),
  e2e(11, 'fastify', only([...PLATFORM, HTTP2, SCALE, RUN_ATTACKS])),
];
if (existsSync(join(__dirname, NEST12, '@nestjs', 'core'))) {
  projects.push(
    e2e(12, 'express', only([...PLATFORM, ...NEST])),
    e2e(12, 'fastify', only([...PLATFORM, HTTP2])),
  );
} else {
  // `npm test` installs it; a bare `jest` run says what it leaves out.
  console.warn(`\n⚠ ${NEST12} is not installed: the NestJS 12 runs are left out (npm test installs it).\n`);
}

module.exports = {
  testTimeout: 30_000,
  // Two workers at least, where Jest's default (cores - 1) would run a 2-core machine's
  // files one at a time: most e2e files wait on sockets, child processes, Redis or
  // PostgreSQL, and one alone leaves a core idle. Each worker is its own process, so the
  // at-scale tests' heap and resource counts see only their own file; their bounds leave
  // room for a neighbour (see scale.e2e-spec.ts).
  maxWorkers: Math.max(2, availableParallelism() - 1),
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  testSequencer: '<rootDir>/test/support/sequencer.js',
  projects,
};
