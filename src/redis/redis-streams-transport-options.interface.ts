import type { RedisClientType } from 'redis';
import type { RedisClusterClient } from './redis-connection';

/** Where Redis is and how the transport uses it: the stream's key and length, presence's lifetime. @publicApi */
export interface RedisStreamsTransportOptions {
  /** Where Redis is, e.g. `redis://127.0.0.1:6379` (ignored when `client` is given). */
  url?: string;
  /**
   * An existing node-redis client to publish and replay with (connected here if it is
   * not yet), or a Redis Cluster client (`createCluster({ rootNodes })`): every key of the
   * transport shares the stream's hash slot. The blocking reader always gets a
   * connection of its own (`duplicate()`). The app closes it.
   */
  client?: RedisClientType<any, any, any, any, any> | RedisClusterClient;
  /** The stream's key, shared by every instance of the app (default `sse-hub`). */
  stream?: string;
  /**
   * How many entries the stream keeps for replay (`MAXLEN ~`, default 10,000): Redis
   * trims in whole nodes, so more may stay. `sendTo` and `close` entries count too. It is
   * also how far an instance's reader may fall behind (a burst from other instances, a
   * busy event loop) before it misses entries: then it logs it and every client on it
   * gets a resync. Size it for your largest burst.
   */
  maxLen?: number;
  /** How long one `XREAD BLOCK` waits before asking again, in ms (default 5000). */
  blockMs?: number;
  /**
   * How long, in ms, an instance that stopped without a goodbye (killed, cut off from
   * Redis) stays in `SseHub.presence()`: each instance says it is alive every third of
   * it (default 15,000). It is also the lease of a resumable run: a run whose instance
   * stopped renewing it for this long ends as `failed`.
   */
  presenceTtl?: number;
}
