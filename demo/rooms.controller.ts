import { BadRequestException, Body, Controller, Param, Post } from '@nestjs/common';
import { SseClient, type SseCloseReason, type SseGateway, SseHub, SseRoute } from 'nestjs-sse-hub';

/** The part of the (Express) request this controller reads. */
interface RoomRequest {
  params: { room: string };
}

export interface ChatMessage {
  author: string;
  text: string;
  /** ISO 8601, set by the server. */
  at: string;
}

const MAX_AUTHOR = 40;
const MAX_TEXT = 500;

function roomChannel(room: string): string {
  return `room:${room}`;
}

function requiredString(body: Record<string, unknown>, field: string, max: number): string {
  const value = body[field];
  if (typeof value !== 'string' || value.trim() === '') throw new BadRequestException(`"${field}" must be a non-empty string.`);
  const trimmed = value.trim();
  if (trimmed.length > max) throw new BadRequestException(`"${field}" must be at most ${max} characters, got ${trimmed.length}.`);
  return trimmed;
}

/** A chat room per channel: GET streams the room, POST broadcasts into it. */
@Controller('rooms')
export class RoomsController implements SseGateway {
  constructor(private readonly hub: SseHub) {}

  // Returns nothing: the stream stays open and carries what the hub sends to the room.
  @SseRoute(':room/events', { channels: (req: RoomRequest) => [roomChannel(req.params.room)] })
  events(): void {}

  @Post(':room/messages')
  async post(@Param('room') room: string, @Body() body: unknown): Promise<ChatMessage> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new BadRequestException('Send a JSON object { "author": string, "text": string } with Content-Type: application/json.');
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

  async onJoin(client: SseClient<RoomRequest>) {
    // The client is already in the hub and its room: the count includes it, and it gets
    // this presence event too, right after the welcome returned below.
    await this.broadcastPresence(client.request.params.room);
    return { event: 'welcome', data: { id: client.id } };
  }

  async onClose(client: SseClient<RoomRequest>, reason: SseCloseReason): Promise<void> {
    // On shutdown every stream is ending: nobody is left to tell.
    if (reason === 'shutdown') return;
    await this.broadcastPresence(client.request.params.room);
  }

  private async broadcastPresence(room: string): Promise<void> {
    const channel = roomChannel(room);
    // In onJoin the hub already lists the joining client; in onClose it no longer lists the closing one.
    const count = this.hub.count(channel);
    await this.hub.broadcast({ event: 'presence', data: { room, count } }, { channels: channel });
  }
}
