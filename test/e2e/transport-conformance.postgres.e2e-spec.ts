import { PostgresTransport, SseTransportUnavailableError } from 'nestjs-sse-hub/postgres';
import { LISTENER_NAME, PUBLISHER_NAME } from '../../src/postgres/postgres.transport';
import { spawnInstance } from './support/instance-process';
import { findPostgres, PostgresServer } from './support/postgres-server';
import { describeTransportConformance } from './support/transport-conformance';

const binDir = findPostgres();
const CAN_RUN = binDir !== undefined;
if (!CAN_RUN) {
  if (process.env.CI)
    throw new Error(
      'PostgreSQL is missing and CI needs it: run `npm test` as root so test/support/ensure-tools.sh can install it.',
    );
  console.warn(
    '\n⚠ PostgreSQL is not installed: the PostgreSQL transport conformance tests are skipped (npm test installs it).\n',
  );
}

let pg: PostgresServer | undefined;

// One throwaway cluster for the file, a table per test. A restart is a fast shutdown and a
// start on the same data: what was committed survives.
describeTransportConformance('PostgresTransport on a real PostgreSQL', {
  available: CAN_RUN,
  beforeAll: async () => {
    pg = await PostgresServer.start(binDir);
  },
  afterAll: async () => pg?.stop(),
  make: (topic, options) =>
    new PostgresTransport({ connectionString: pg!.url, table: `sse_${topic}`, maxLen: options?.maxLen }),
  ready: (transport) => (transport as PostgresTransport).ready(),
  instances: true,
  presence: true,
  spawn: (topic, ttl) =>
    spawnInstance({ DATABASE_URL: pg!.url, TABLE: `sse_${topic}`, PRESENCE_TTL: String(ttl) }),
  restart: () => pg!.restart(),
  restartKeepsHistory: true,
  // First only the listeners (the readers), while publishing goes on; then every backend of the transports.
  killConnections: async (round) => {
    const killed = await pg!.terminateBackends(
      round === 0
        ? LISTENER_NAME
        : (backend) => [LISTENER_NAME, PUBLISHER_NAME].includes(backend.applicationName),
    );
    if (killed === 0) throw new Error(`no backend of the transport to kill (round ${round})`);
  },
  unavailable: (error) => error instanceof SseTransportUnavailableError,
});
