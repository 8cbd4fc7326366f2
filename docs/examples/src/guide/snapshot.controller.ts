import { Controller } from '@nestjs/common';
import { SseClient, SseGateway, SseRoute } from 'nestjs-sse-hub';

@Controller('board')
export class BoardController implements SseGateway {
  private readonly cards = new Map<string, string>();

  @SseRoute('events', { channels: 'board' })
  events() {}

  // A client that reconnects with Last-Event-ID gets what it missed, after what onJoin
  // returns. When that is gone (client.replay === 'gap', and its first event was
  // `resync`), the whole state is what it needs instead.
  onJoin(client: SseClient) {
    if (client.replay === 'complete') return undefined;
    return { event: 'snapshot', data: Object.fromEntries(this.cards) };
  }
}
