import { Module } from '@nestjs/common';
import { SseModule } from 'nestjs-sse-hub';
import { RedisStreamsTransport } from 'nestjs-sse-hub/redis';
import { RoomsController } from './rooms.controller';
import { TickerController } from './ticker.controller';

// With REDIS_URL set, every demo instance shares one Redis stream: start two on two ports
// and a message sent on one appears on the other (and a reconnect to either replays).
const transport = process.env.REDIS_URL ? new RedisStreamsTransport({ url: process.env.REDIS_URL, stream: 'nestjs-sse-hub-demo' }) : undefined;

@Module({
  // retry: how long a browser waits before reconnecting after the server goes away.
  imports: [SseModule.forRoot({ keepAlive: 15_000, retry: 2_000, transport })],
  controllers: [RoomsController, TickerController],
})
export class AppModule {}
