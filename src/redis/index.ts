export * from './redis-streams-transport-options.interface';
export * from './redis-streams.transport';
export * from './sse-transport-unavailable.error';
export type { RedisClusterClient } from './redis-connection';
