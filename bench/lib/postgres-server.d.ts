// Types for postgres-server.js, which the e2e tests import (test/e2e/support/postgres-server.ts).

export declare function findPostgres(): string | undefined;

export interface PostgresClusterOptions {
  /** The directory of initdb and postgres: findPostgres()'s by default. */
  binDir?: string;
  /** Server settings (`-c name=value`) over the defaults (listen_addresses=127.0.0.1, fsync=off, max_connections=200). */
  settings?: Record<string, string>;
}

export declare class PostgresCluster {
  static start(options?: PostgresClusterOptions): Promise<PostgresCluster>;
  private constructor();
  readonly port: number;
  /** Its temporary directory (data and socket), removed by stop(). */
  readonly dir: string;
  readonly settings: Readonly<Record<string, string>>;
  /** The `postgres` database, as the superuser `postgres` (trust: no password). */
  get url(): string;
  urlOf(database: string): string;
  restart(): Promise<void>;
  pause(): Promise<void>;
  stop(): Promise<void>;
}
