/**
 * The Redis transport: hub messages through a Redis stream (one node or a Cluster), with
 * replay and presence kept on Redis.
 *
 * @module nestjs-sse-hub/redis
 */
export type { RedisStreamsTransportOptions } from './redis-streams-transport-options.interface';
export { RedisStreamsTransport } from './redis-streams.transport';
// Here first, and still here for the apps that import it from this entry point.
export { SseTransportUnavailableError } from '../hub';
export type { RedisClusterClient } from './redis-connection';
