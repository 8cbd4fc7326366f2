import { Module } from '@nestjs/common';
import { SseModule } from 'nestjs-sse-hub';

@Module({
  imports: [
    SseModule.forRoot({
      keepAlive: 15_000, // a comment after 15 s of silence, for proxies that close idle connections
      retry: 2_000, // how long browsers wait before they reconnect
      history: { size: 1_000 }, // broadcasts the in-process transport keeps for replay
      maxConnections: 10_000, // past it: 503 with Retry-After
      maxConnectionsPer: { key: (req) => req.ip, limit: 20 }, // per IP: 429
      maxPendingBytes: 1024 * 1024, // unread bytes before a client counts as slow...
      slowConsumer: 'close', // ...and is cut off (it reconnects and replays), or 'drop'
      maxEventBytes: 64 * 1024, // larger events are refused with SseEventTooLargeError
    }),
  ],
})
export class LimitsModule {}
