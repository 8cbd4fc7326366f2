export * from './postgres-queryable.interface';
export * from './postgres-transport-options.interface';
export * from './postgres.transport';
export * from './sse-idempotency-key-busy.error';
export { SseTransportUnavailableError } from '../hub';
