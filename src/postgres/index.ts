/**
 * The PostgreSQL transport: hub messages through a table and `LISTEN`/`NOTIFY`, with
 * replay and presence kept in the database, and `publishIn` for events that follow a transaction.
 *
 * @module nestjs-sse-hub/postgres
 */
export type { PostgresQueryable } from './postgres-queryable.interface';
export type { PostgresTransportOptions } from './postgres-transport-options.interface';
export { PostgresTransport } from './postgres.transport';
export * from './sse-idempotency-key-busy.error';
export { SseTransportUnavailableError } from '../hub';
