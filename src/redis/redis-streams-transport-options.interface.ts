import type { RedisClientType } from 'redis';

/** @publicApi */
export interface RedisStreamsTransportOptions {
  /** Where Redis is, e.g. `redis://127.0.0.1:6379` (ignored when `client` is given). */
  url?: string;
  /**
   * An existing node-redis client to publish and replay with (connected here if it is
   * not yet). The blocking reader always gets a connection of its own (`duplicate()`).
   */
  client?: RedisClientType<any, any, any, any, any>;
  /** The stream's key, shared by every instance of the app (default `sse-hub`). */
  stream?: string;
  /**
   * How many entries the stream keeps for replay (`MAXLEN ~`, default 1000): Redis trims
   * in whole nodes, so a few more may stay. `sendTo` and `close` entries count too.
   */
  maxLen?: number;
  /** How long one `XREAD BLOCK` waits before asking again, in ms (default 5000). */
  blockMs?: number;
}
