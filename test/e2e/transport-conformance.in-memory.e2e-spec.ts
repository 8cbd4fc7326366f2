import { InMemoryTransport } from '../../src/internal';
import { describeTransportConformance } from './support/transport-conformance';

// The default transport: one instance, its history in the process.
describeTransportConformance('InMemoryTransport', {
  make: (_topic, options) => new InMemoryTransport({ historySize: options?.maxLen ?? 1000 }),
  instances: false,
  presence: false,
});
