/** Unit tests (pure, milliseconds) and e2e tests (real Nest apps on loopback ports) in one run. */
module.exports = {
  testEnvironment: 'node',
  rootDir: '.',
  roots: ['<rootDir>/test'],
  testRegex: '\\.(spec|e2e-spec)\\.ts$',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  moduleNameMapper: {
    '^nestjs-sse-hub$': '<rootDir>/src/index.ts',
    '^nestjs-sse-hub/testing$': '<rootDir>/src/testing/index.ts',
  },
  testTimeout: 30_000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
