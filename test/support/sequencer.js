/**
 * Jest's order (a file that failed last time first, then the longest first, by the times
 * of the last run in Jest's cache), with an estimate for a file that has no time yet: on a
 * fresh clone (CI) Jest would otherwise order by file size, and the longest files (the
 * packed library's installs, the 10,000-stream tests, the fault matrix) could start last
 * and leave one worker running alone at the end. Seconds on a quiet 2-core machine, rounded;
 * a file not listed comes after them, the larger first, as Jest would order it.
 */
const { basename } = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

const ESTIMATE = {
  'package.spec.ts': 120,
  'scale.e2e-spec.ts': 60,
  'hub-model.e2e-spec.ts': 30,
  'transport-faults.redis-cluster.e2e-spec.ts': 30,
  'transport-faults.postgres.e2e-spec.ts': 25,
  'transport-faults.redis.e2e-spec.ts': 20,
  'transport-faults.in-memory.e2e-spec.ts': 15,
  'bench.e2e-spec.ts': 15,
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
