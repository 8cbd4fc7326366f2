import { InMemoryRunStore } from 'nestjs-sse-hub';
import { describeRunStoreContract } from './support/run-store-contract';

// The in-process store is the reference: no lease (its runs end with its process).
describeRunStoreContract('InMemoryRunStore', { make: () => new InMemoryRunStore() });
