/**
 * Unit tests (pure, milliseconds) once, and the e2e suite (real Nest apps on loopback
 * ports) once per HTTP platform: the same files, with SSE_PLATFORM set per project.
 */
const shared = {
  testEnvironment: 'node',
  rootDir: '.',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  moduleNameMapper: {
    '^nestjs-sse-hub$': '<rootDir>/src/index.ts',
    '^nestjs-sse-hub/testing$': '<rootDir>/src/testing/index.ts',
  },
};

const e2eOn = (platform, ignore = []) => ({
  ...shared,
  displayName: `e2e ${platform}`,
  roots: ['<rootDir>/test/e2e'],
  testRegex: '\\.e2e-spec\\.ts$',
  setupFiles: [`<rootDir>/test/e2e/support/platform.${platform}.js`],
  testPathIgnorePatterns: ['/node_modules/', ...ignore],
});

module.exports = {
  testTimeout: 30_000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/test/unit'], testRegex: '\\.spec\\.ts$' },
    e2eOn('express', ['http2\\.e2e-spec']),
    // The benchmark's smoke run starts its own servers: once is enough.
    e2eOn('fastify', ['bench\\.e2e-spec']),
  ],
};
