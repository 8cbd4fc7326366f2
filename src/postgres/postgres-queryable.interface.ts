/**
 * Anything that runs a query with parameters: a `pg` client or pool, or an ORM's handle on
 * the app's transaction (TypeORM's `EntityManager` and `QueryRunner`, Knex's `raw`...).
 *
 * @publicApi
 */
export interface PostgresQueryable {
  /** Runs `text` with `$1`, `$2`... bound to `values`. */
  query(text: string, values?: unknown[]): Promise<unknown>;
}
