import { Module } from '@nestjs/common';
import { SseModule } from 'nestjs-sse-hub';
import { ChatController } from './chat.controller';

@Module({
  imports: [SseModule.forRoot({ retry: 2_000 })],
  controllers: [ChatController],
})
export class AppModule {}
