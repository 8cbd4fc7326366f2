/**
 * Anything that runs a query with parameters: a `pg` client or pool, or an ORM's handle on
 * the app's transaction (TypeORM's `EntityManager` and `QueryRunner`, Knex's `raw`...).
 *
 * @publicApi
 */
export interface PostgresQueryable {
  query(text: string, values?: unknown[]): Promise<unknown>;
}
