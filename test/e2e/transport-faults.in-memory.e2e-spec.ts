import { describeFaultMatrix } from './support/fault-matrix';

// The reference: one instance, its history in the process. No server to fault: clients
// come, go and reconnect (with Last-Event-ID) while turns of broadcasts, some with
// idempotency keys and some of values that cannot be encoded, run.
// CI runs these seeds: each once caught a reconnecting client sent old broadcasts again (`npm run test:faults` draws fresh ones).
describeFaultMatrix(
  {
    name: 'in-memory',
    title: 'InMemoryTransport',
    inProcess: 1,
    publishers: ['A'],
    shape: { faults: {}, presenceTtl: 1_000, maxLen: { normal: 1_000, small: 50 } },
    transport: (_topic, { maxLen }) => ({ kind: 'memory', maxLen }),
    // In the process, a broadcast of a value that encodes is never refused.
    refusals: [],
  },
  [121355124, 946448766],
);
