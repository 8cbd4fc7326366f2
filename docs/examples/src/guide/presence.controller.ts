import { Controller, Get, Param } from '@nestjs/common';
import { SseHub, SseRoute } from 'nestjs-sse-hub';

@Controller('teams')
export class PresenceController {
  constructor(private readonly hub: SseHub) {}

  // presence: what presence() lists for each stream (here the user, from the query; in an
  // app, from the request's authenticated user). presenceEvents: the team's members get
  // `join` and `leave` events with { channel, id, info }.
  @SseRoute(':team/events', {
    channels: (req) => `team:${req.params.team}`,
    presence: (client) => ({ user: client.request.query.user }),
    presenceEvents: true,
  })
  events() {}

  // Who is connected to the team, on every instance: { count, clients: [{ id, channels, info }] }.
  @Get(':team/presence')
  members(@Param('team') team: string) {
    return this.hub.presence(`team:${team}`);
  }
}
