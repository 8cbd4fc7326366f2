import { Body, Controller, Param, Post } from '@nestjs/common';
import { SseClient, SseEventOf, SseGateway, SseHub, SseRoute } from 'nestjs-sse-hub';
import type { ChatEvents, ChatMessage } from './chat.events';

@Controller('rooms')
export class ChatController implements SseGateway<ChatEvents> {
  constructor(private readonly hub: SseHub<ChatEvents>) {}

  // GET /rooms/:room/events: joins the room's channel and stays open for the hub.
  @SseRoute(':room/events', { channels: (req) => `room:${req.params.room}` })
  events() {}

  onJoin(client: SseClient): SseEventOf<ChatEvents> {
    return { event: 'welcome', data: { id: client.id } }; // sent first
  }

  // Every broadcast passes here once per client, replayed ones too: return it, or nothing.
  onMessage(message: SseEventOf<ChatEvents>, client: SseClient) {
    if (message.event === 'message' && message.data.to && message.data.to !== client.id) return undefined;
    return message;
  }

  // POST /rooms/:room/messages {"from":"ann","text":"hi"}: to everyone in the room.
  @Post(':room/messages')
  async post(@Param('room') room: string, @Body() message: ChatMessage) {
    await this.hub.broadcast({ event: 'message', data: message }, { channels: `room:${room}` });
  }
}
