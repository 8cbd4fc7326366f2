export * from './postgres-transport-options.interface';
export * from './postgres.transport';
export { SseTransportUnavailableError } from '../hub';
