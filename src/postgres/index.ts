export type { PostgresTransportOptions } from './postgres-transport-options.interface';
export { type PostgresQueryable, PostgresTransport } from './postgres.transport';
export * from './sse-idempotency-key-busy.error';
export { SseTransportUnavailableError } from '../hub';
