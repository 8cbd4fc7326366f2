import { BadRequestException, Body, Controller, Get, Param, Post } from '@nestjs/common';
import {
  SseClient,
  type SseEventOf,
  type SseGateway,
  SseHub,
  type SsePresence,
  SseRoute,
} from 'nestjs-sse-hub';
import { type ChatMessage, type RoomEvents } from './chat.events';

/** The part of the (Express) request this controller reads. */
interface RoomRequest {
  params: { room: string };
}

const MAX_AUTHOR = 40;
const MAX_TEXT = 500;

function roomChannel(room: string): string {
  return `room:${room}`;
}

function requiredString(body: Record<string, unknown>, field: string, max: number): string {
  const value = body[field];
  if (typeof value !== 'string' || value.trim() === '')
    throw new BadRequestException(`"${field}" must be a non-empty string.`);
  const trimmed = value.trim();
  if (trimmed.length > max)
    throw new BadRequestException(`"${field}" must be at most ${max} characters, got ${trimmed.length}.`);
  return trimmed;
}

/** A chat room per channel: GET streams the room, POST broadcasts into it. */
@Controller('rooms')
export class RoomsController implements SseGateway<RoomEvents> {
  constructor(private readonly hub: SseHub<RoomEvents>) {}

  // Returns nothing: the stream stays open and carries what the hub sends to the room,
  // and the room's members hear of every stream that joins or leaves it (join / leave).
  @SseRoute<RoomEvents>(':room/events', {
    channels: (req: RoomRequest) => [roomChannel(req.params.room)],
    presenceEvents: true,
  })
  events(): void {}

  // Who is in the room, on every instance: the page asks on each join and leave event.
  @Get(':room/presence')
  presence(@Param('room') room: string): Promise<SsePresence> {
    return this.hub.presence(roomChannel(room));
  }

  @Post(':room/messages')
  async post(@Param('room') room: string, @Body() body: unknown): Promise<ChatMessage> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new BadRequestException(
        'Send a JSON object { "author": string, "text": string } with Content-Type: application/json.',
      );
    }
    const record = body as Record<string, unknown>;
    const message: ChatMessage = {
      author: requiredString(record, 'author', MAX_AUTHOR),
      text: requiredString(record, 'text', MAX_TEXT),
      at: new Date().toISOString(),
    };
    await this.hub.broadcast({ event: 'message', data: message }, { channels: roomChannel(room) });
    return message;
  }

  onJoin(client: SseClient<RoomRequest>): SseEventOf<RoomEvents> {
    return { event: 'welcome', data: { id: client.id } };
  }
}
