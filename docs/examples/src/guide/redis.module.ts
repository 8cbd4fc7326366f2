import { Module } from '@nestjs/common';
import { SseModule } from 'nestjs-sse-hub';
import { RedisStreamsTransport } from 'nestjs-sse-hub/redis';
import { ChatController } from '../chat.controller';

// The root module's one SseModule import, now with Redis: it takes the place of the quick
// start's SseModule.forRoot() (a second import would make a second hub, and is refused).
@Module({
  imports: [
    SseModule.forRootAsync({
      // inject: [ConfigService], useFactory: (config: ConfigService) => ... works the same.
      // On a Redis Cluster, give it your cluster client (the app connects and closes it):
      // new RedisStreamsTransport({ client: createCluster({ rootNodes: [{ url }], defaults: { disableOfflineQueue: true } }) })
      useFactory: () => ({
        retry: 2_000,
        transport: new RedisStreamsTransport({
          url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
          maxLen: 10_000,
        }),
      }),
    }),
  ],
  controllers: [ChatController],
})
export class AppModule {}
