import { Controller, Get, Param } from '@nestjs/common';
import { SseHub, SseRoute } from 'nestjs-sse-hub';

@Controller('teams')
export class PresenceController {
  constructor(private readonly hub: SseHub) {}

  // user: whose stream it is (after the app's guard; docs/users.md). presence: what else
  // presence() lists for it (here a display name, from the query). presenceEvents: the
  // team's members get `join` and `leave` events with { channel, id, info }.
  @SseRoute(':team/events', {
    channels: (req) => `team:${req.params.team}`,
    user: (req) => req.user?.id,
    presence: (client) => ({ name: client.request.query.name }),
    presenceEvents: true,
  })
  events() {}

  // Who is connected to the team, on every instance: { count, clients: [{ id, channels, info, user }] }.
  @Get(':team/presence')
  members(@Param('team') team: string) {
    return this.hub.presence(`team:${team}`);
  }
}
