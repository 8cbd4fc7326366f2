export type { PostgresQueryable } from './postgres-queryable.interface';
export type { PostgresTransportOptions } from './postgres-transport-options.interface';
export { PostgresTransport } from './postgres.transport';
export * from './sse-idempotency-key-busy.error';
export { SseTransportUnavailableError } from '../hub';
