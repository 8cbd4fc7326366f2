import { Module } from '@nestjs/common';
import { SseModule, type SseTransport } from 'nestjs-sse-hub';
import { PostgresTransport } from 'nestjs-sse-hub/postgres';
import { RedisStreamsTransport } from 'nestjs-sse-hub/redis';
import { AnswerController, FakeModel } from './answer.controller';
import { BearerGuard } from './bearer.guard';
import { BrowserScriptsController } from './browser-scripts.controller';
import { DemoSessions } from './demo-sessions.service';
import { NotificationsController } from './notifications.controller';
import { RoomsController } from './rooms.controller';
import { TickerController } from './ticker.controller';

// With REDIS_URL (or DATABASE_URL, for PostgreSQL) set, every demo instance shares one
// Redis stream (or one table): start two on two ports and a message sent on one appears
// on the other (and a reconnect to either replays).
function transportFromEnv(): SseTransport | undefined {
  if (process.env.REDIS_URL)
    return new RedisStreamsTransport({ url: process.env.REDIS_URL, stream: 'nestjs-sse-hub-demo' });
  if (process.env.DATABASE_URL)
    return new PostgresTransport({ connectionString: process.env.DATABASE_URL, table: 'sse_hub_demo' });
  return undefined;
}

@Module({
  // retry: how long a browser waits before reconnecting after the server goes away.
  imports: [SseModule.forRoot({ keepAlive: 15_000, retry: 2_000, transport: transportFromEnv() })],
  controllers: [
    RoomsController,
    TickerController,
    AnswerController,
    NotificationsController,
    BrowserScriptsController,
  ],
  providers: [FakeModel, DemoSessions, BearerGuard],
})
export class AppModule {}
