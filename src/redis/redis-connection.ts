import { createClient, ErrorReply, type RedisClientType } from 'redis';

export type RedisClient = RedisClientType<any, any, any, any, any>;

/**
 * What the transport uses of a node-redis Redis Cluster client (`createCluster()`),
 * whatever its modules and RESP version.
 *
 * @publicApi
 */
export interface RedisClusterClient {
  /** Whether `connect()` was called and the client not destroyed since. */
  readonly isOpen: boolean;
  /** Whether it is connected to the cluster now. */
  readonly isReady: boolean;
  /** The client of one node; the transport tells a Cluster client from a node client by it. */
  nodeClient(...args: any[]): unknown;
  /** Sends a raw command to the node that holds `firstKey`'s slot. */
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
  ): Promise<unknown>;
  /** A new client with the same settings: the transport's blocking reader gets its own. */
  duplicate(overrides?: any): RedisClusterClient;
  /** Connects to the cluster. */
  connect(): Promise<unknown>;
  /** Closes every connection at once. */
  destroy(): void;
  /** Listens to the client's events (`error`, `node-error`, `node-ready`). */
  on(event: string, listener: (...args: any[]) => void): unknown;
  /** Stops listening. */
  off(event: string, listener: (...args: any[]) => void): unknown;
}

type RedisCluster = RedisClusterClient;

/** Reconnects after 50 ms, then up to 2 s apart: never gives up while the app runs. */
export function backoff(retries: number): number {
  return Math.min(50 * 2 ** retries, 2000);
}

/**
 * The transport's own publisher connection (named `name`): no offline queue, so that a
 * broadcast fails at once while Redis is away; reconnecting with back-off.
 */
export function publisherFor(url: string | undefined, name: string): RedisClient {
  try {
    return createClient({
      url,
      name,
      disableOfflineQueue: true,
      socket: { reconnectStrategy: backoff },
    }) as RedisClient;
  } catch (error) {
    // node-redis' error repeats the URL (its `input`), password and all.
    throw new TypeError(
      `RedisStreamsTransport: url cannot be read (${(error as Error).message}); ` +
        'it is not repeated here, since it may hold a password. ' +
        'Give it as redis[s]://[[user]:password@]host[:port][/db], with a port from 1 to 65535 ' +
        'and the password percent-encoded (encodeURIComponent).',
    );
  }
}

/**
 * Whether Redis answered that it is away, rather than that the command is wrong: a
 * cluster without a quorum or a slot being moved, a replica cut from its master, a server
 * still loading. Anything else it answers (`ErrorReply`) is said as it is.
 */
export function isUnavailable(error: unknown): boolean {
  return !(error instanceof ErrorReply) || /^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING) /.test(error.message);
}

function isCluster(raw: RedisClient | RedisCluster): raw is RedisCluster {
  return typeof (raw as RedisCluster).nodeClient === 'function';
}

/**
 * A node-redis client or a Redis Cluster client (`createCluster`), as the transport uses
 * either: every command with the key that routes it (all of the transport's keys share
 * one hash slot), a duplicate for the blocking reader, and the connection's state. A
 * cluster says it is ready per node, and fails per node too.
 */
export class RedisConnection {
  constructor(readonly raw: RedisClient | RedisCluster) {}

  get isReady(): boolean {
    return this.raw.isReady;
  }

  /** Whether it is a Redis Cluster client (`createCluster()`). */
  get isCluster(): boolean {
    return isCluster(this.raw);
  }

  get isOpen(): boolean {
    return this.raw.isOpen;
  }

  /** Where it points, for logs (without a password). */
  get url(): string | undefined {
    const raw = this.raw as { options?: { url?: string; rootNodes?: Array<{ url?: string }> } };
    return raw.options?.url ?? raw.options?.rootNodes?.[0]?.url;
  }

  /**
   * Whether it is a cluster client that queues commands while a node is away (node-redis's
   * offline queue): a cluster stays ready while one node is down, so they would wait there
   * instead of failing. (A single client that is not ready is refused before any command.)
   */
  get queuesWhileAway(): boolean {
    // node-redis 6 keeps a cluster's options in _options (on _self, behind its command proxy).
    type WithOptions = { _options?: ClusterOptions; options?: ClusterOptions };
    type ClusterOptions = { defaults?: { disableOfflineQueue?: boolean } };
    const raw = this.raw as WithOptions & { _self?: WithOptions };
    const options = (raw._self ?? raw)._options ?? raw._options ?? raw.options;
    return isCluster(this.raw) && options?.defaults?.disableOfflineQueue !== true;
  }

  /**
   * Runs a Lua script, sent whole every time (`EVAL`; Redis caches its compiled form).
   * Not `EVALSHA` with a fallback on NOSCRIPT: after a restart, a failover or `SCRIPT
   * FLUSH`, the call that failed would be sent again after later calls already ran,
   * and they would land out of order. Every key in `keys`, all of one slot.
   */
  evalScript(script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.send(keys[0], ['EVAL', script, String(keys.length), ...keys, ...args]);
  }

  send(key: string, args: string[]): Promise<unknown> {
    const raw = this.raw;
    return isCluster(raw) ? raw.sendCommand(key, false, args) : raw.sendCommand(args);
  }

  /**
   * A connection of its own (for a blocking command), that fails fast while Redis is away
   * and never stops reconnecting.
   */
  duplicate(name: string): RedisConnection {
    const raw = this.raw;
    if (isCluster(raw)) {
      const defaults = (raw as { options?: { defaults?: { socket?: object } } }).options?.defaults;
      return new RedisConnection(
        raw.duplicate({
          defaults: {
            ...defaults,
            name,
            disableOfflineQueue: true,
            socket: { ...defaults?.socket, reconnectStrategy: backoff },
          },
        }),
      );
    }
    const socket = (raw as { options?: { socket?: object } }).options?.socket;
    return new RedisConnection(
      raw.duplicate({
        name,
        disableOfflineQueue: true,
        socket: { ...socket, reconnectStrategy: backoff },
      }) as RedisClient,
    );
  }

  connect(): Promise<unknown> {
    return this.raw.connect();
  }

  destroy(): void {
    this.raw.destroy();
  }

  onError(listener: (error: Error) => void): void {
    this.raw.on('error', listener);
    if (isCluster(this.raw)) this.raw.on('node-error', listener);
  }

  onReady(listener: () => void): void {
    this.raw.on(isCluster(this.raw) ? 'node-ready' : 'ready', listener);
  }

  /**
   * Resolves when it is ready, or after a while (a cluster may be ready without one more
   * node saying so): check again.
   */
  untilReady(): Promise<void> {
    const event = isCluster(this.raw) ? 'node-ready' : 'ready';
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.raw.off(event, done);
        resolve();
      };
      const timer = setTimeout(done, 250);
      this.raw.on(event, done);
    });
  }
}
