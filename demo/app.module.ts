import { Module } from '@nestjs/common';
import { SseModule } from 'nestjs-sse-hub';
import { RoomsController } from './rooms.controller';
import { TickerController } from './ticker.controller';

@Module({
  // retry: how long a browser waits before reconnecting after the server goes away.
  imports: [SseModule.forRoot({ keepAlive: 15_000, retry: 2_000 })],
  controllers: [RoomsController, TickerController],
})
export class AppModule {}
