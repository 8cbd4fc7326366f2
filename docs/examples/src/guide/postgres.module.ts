import {
  Body,
  Controller,
  Injectable,
  Logger,
  Module,
  type OnApplicationShutdown,
  Post,
} from '@nestjs/common';
import { Pool } from 'pg';
import { SseModule, SseRoute } from 'nestjs-sse-hub';
import { PostgresTransport } from 'nestjs-sse-hub/postgres';

// The app's pool, and the transport on it, as providers: services publish in their own
// transactions with the transport, and SseModule is given the same one.
@Module({
  providers: [
    {
      provide: Pool,
      useFactory: () => {
        const pool = new Pool({
          connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
        });
        // A connection that breaks while idle (PostgreSQL restarted) is reported on its pool:
        // with no listener, Node would end the process.
        pool.on('error', (error) =>
          new Logger('Database').warn(`An idle connection failed: ${error.message}`),
        );
        return pool;
      },
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
  async place(item: string): Promise<{ id: number }> {
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
      return rows[0];
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }
}

@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  // GET /orders/events: every order placed, on any instance.
  @SseRoute('events', { channels: 'orders' })
  events() {}

  // POST /orders {"item":"tea"}
  @Post()
  place(@Body('item') item: string) {
    return this.orders.place(item);
  }
}

@Module({
  imports: [DatabaseModule],
  controllers: [OrdersController],
  providers: [OrdersService],
  exports: [OrdersService],
})
export class OrdersModule {}

// The root module of an app on PostgreSQL: SseModule is imported once, here, with the
// transport (in place of the Quick start's SseModule.forRoot()).
@Module({
  imports: [
    DatabaseModule,
    OrdersModule,
    SseModule.forRootAsync({
      imports: [DatabaseModule],
      inject: [PostgresTransport],
      useFactory: (transport: PostgresTransport) => ({ transport }),
    }),
  ],
})
export class PostgresAppModule {}
