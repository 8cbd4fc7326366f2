/**
 * Unit tests (pure, milliseconds) once; the e2e suite (real Nest apps on loopback ports)
 * once per HTTP platform under NestJS 11 (CommonJS, the root install), and again under
 * NestJS 12, which is ES modules only: those runs compile the same files to ES modules and
 * resolve packages from test/nest12 first (installed by `npm test`). SSE_PLATFORM is set
 * per project by a setup file.
 */
const { existsSync } = require('node:fs');
const { join } = require('node:path');

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
  },
};

const e2e = (nest, platform, ignore = []) => ({
  ...shared,
  displayName: `e2e nest${nest} ${platform}`,
  roots: ['<rootDir>/test/e2e'],
  testRegex: '\\.e2e-spec\\.ts$',
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

// Run once: the benchmark's smoke run and the ES-module app start their own processes;
// the transports on a server (Redis, PostgreSQL) do not depend on the HTTP platform;
// HTTP/2 is Fastify's. (The conformance suite in memory runs on every platform.)
const ONCE = [
  'bench\\.e2e-spec',
  'esm-app\\.e2e-spec',
  '/redis\\.e2e-spec',
  'redis-presence\\.e2e-spec',
  'redis-health\\.e2e-spec',
  '/postgres\\.e2e-spec',
  '/postgres-defects\\.e2e-spec',
  '/transport-secrets\\.e2e-spec',
  'transport-conformance\\.(redis|redis-cluster|postgres)\\.e2e-spec',
  // The fault matrix, every transport (the in-process one too): a few seeds each, once.
  'transport-faults\\.',
  'replay-bounds\\.e2e-spec',
  'browser\\.e2e-spec',
  'dashboard-browser\\.e2e-spec',
];
const HTTP2 = 'http2\\.e2e-spec';
// The at-scale tests (10,000 streams, a minute each) run on NestJS 11, once per platform:
// NestJS 12 adds no code path under load, and CI's time is better spent elsewhere.
const SCALE = 'scale\\.e2e-spec';

const projects = [
  { ...shared, displayName: 'unit', roots: ['<rootDir>/test/unit'], testRegex: '\\.spec\\.ts$' },
  // The packed tarball, and fresh user apps (Nest 11 and 12) made of the README's code.
  { ...shared, displayName: 'package', roots: ['<rootDir>/test/package'], testRegex: '\\.spec\\.ts$' },
  e2e(11, 'express', [HTTP2]),
  e2e(11, 'fastify', ONCE),
];
if (existsSync(join(__dirname, NEST12, '@nestjs', 'core'))) {
  projects.push(e2e(12, 'express', [...ONCE, HTTP2, SCALE]), e2e(12, 'fastify', [...ONCE, SCALE]));
} else {
  // `npm test` installs it; a bare `jest` run says what it leaves out.
  console.warn(`\n⚠ ${NEST12} is not installed: the NestJS 12 runs are left out (npm test installs it).\n`);
}

module.exports = {
  testTimeout: 30_000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects,
};
