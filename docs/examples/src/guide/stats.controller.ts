import { Controller, Get } from '@nestjs/common';
import { SseHub, type SseHubStats } from 'nestjs-sse-hub';

@Controller('admin')
export class StatsController {
  constructor(private readonly hub: SseHub) {}

  // Guard it as you would any admin route: it names every route and the busiest channels.
  @Get('sse-stats')
  stats(): SseHubStats {
    return this.hub.stats();
  }
}
