/**
 * Jest's order (a file that failed last time first, then the longest first, by the times
 * of the last run in Jest's cache), with an estimate for a file that has no time yet: on a
 * fresh clone (CI) Jest would otherwise order by file size, and the longest files (the
 * packed library's installs, the 10,000-stream tests, the fault matrix) could start last
 * and leave one worker running alone at the end. Seconds each took, one file at a time,
 * on a loaded 2-core machine (the package spec: beside another worker); only their order
 * matters. A file not listed (a few seconds) comes after them, the larger first, as Jest
 * would order it.
 */
const { basename } = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

const ESTIMATE = {
  'package.spec.ts': 145,
  'scale.e2e-spec.ts': 140,
  'bench.e2e-spec.ts': 120,
  'transport-conformance.redis-cluster.e2e-spec.ts': 105,
  'transport-faults.redis-cluster.e2e-spec.ts': 80,
  'transport-faults.redis.e2e-spec.ts': 40,
  'transport-conformance.postgres.e2e-spec.ts': 50,
  'transport-faults.postgres.e2e-spec.ts': 27,
  'dashboard-browser.e2e-spec.ts': 25,
  'transport-faults.in-memory.e2e-spec.ts': 25,
  'postgres.e2e-spec.ts': 23,
  'replay-bounds.e2e-spec.ts': 22,
  'browser.e2e-spec.ts': 20,
  'sse-client.e2e-spec.ts': 20,
  'runs-browser.e2e-spec.ts': 35,
  'client-browser.e2e-spec.ts': 20,
  'notifications-browser.e2e-spec.ts': 15,
  'redis-presence.e2e-spec.ts': 22,
  'runs-attacks.e2e-spec.ts': 12,
  'run-store.redis.e2e-spec.ts': 12,
  'runs-memory.e2e-spec.ts': 10,
  'runs-death.e2e-spec.ts': 10,
  'redis.e2e-spec.ts': 13,
  'transport-conformance.redis.e2e-spec.ts': 22,
  'postgres-defects.e2e-spec.ts': 11,
  'hub-model.e2e-spec.ts': 9,
};

class EstimatingSequencer extends Sequencer {
  time(test) {
    const estimate = ESTIMATE[basename(test.path)];
    return (
      super.time(test) ?? (estimate ? estimate * 1000 : (test.context.hasteFS.getSize(test.path) ?? 0) / 100)
    );
  }
}
module.exports = EstimatingSequencer;
