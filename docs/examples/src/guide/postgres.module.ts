import { Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { SseModule } from 'nestjs-sse-hub';
import { PostgresTransport } from 'nestjs-sse-hub/postgres';

// The app's pool, and the transport on it, as providers: services publish in their own
// transactions with the transport, and SseModule is given the same one.
@Module({
  providers: [
    {
      provide: Pool,
      useFactory: () =>
        new Pool({
          connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
        }),
    },
    {
      provide: PostgresTransport,
      inject: [Pool],
      useFactory: (pool: Pool) => new PostgresTransport({ pool, maxLen: 10_000 }),
    },
  ],
  exports: [Pool, PostgresTransport],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(private readonly pool: Pool) {}

  // The transport leaves the app's pool open: the app closes it.
  onApplicationShutdown(): Promise<void> {
    return this.pool.end();
  }
}

@Injectable()
export class OrdersService {
  constructor(
    private readonly pool: Pool,
    private readonly sse: PostgresTransport,
  ) {}

  // The outbox pattern: clients hear of the order if, and only if, it was saved.
  async place(item: string): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ id: number }>(
        'INSERT INTO orders (item) VALUES ($1) RETURNING id',
        [item],
      );
      await this.sse.publishIn(
        client,
        { event: 'order-placed', data: { id: rows[0].id, item } },
        { channels: 'orders' },
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }
}

@Module({
  imports: [
    DatabaseModule,
    SseModule.forRootAsync({
      imports: [DatabaseModule],
      inject: [PostgresTransport],
      useFactory: (transport: PostgresTransport) => ({ transport }),
    }),
  ],
  providers: [OrdersService],
})
export class PostgresModule {}
