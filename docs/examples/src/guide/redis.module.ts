import { Module } from '@nestjs/common';
import { SseModule } from 'nestjs-sse-hub';
import { RedisStreamsTransport } from 'nestjs-sse-hub/redis';

@Module({
  imports: [
    SseModule.forRootAsync({
      // inject: [ConfigService], useFactory: (config: ConfigService) => ... works the same.
      // On a Redis Cluster, give it your cluster client (the app connects and closes it):
      // new RedisStreamsTransport({ client: createCluster({ rootNodes: [{ url }], defaults: { disableOfflineQueue: true } }) })
      useFactory: () => ({
        transport: new RedisStreamsTransport({
          url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
          maxLen: 10_000,
        }),
      }),
    }),
  ],
})
export class RedisModule {}
