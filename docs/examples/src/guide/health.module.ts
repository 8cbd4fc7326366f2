import { Controller, Get, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { SseHealthIndicator } from 'nestjs-sse-hub/terminus';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly sse: SseHealthIndicator,
  ) {}

  // 200 while the hub's transport carries messages; 503 with the reason while it does not.
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.sse.isHealthy()]);
  }
}

@Module({
  imports: [TerminusModule],
  controllers: [HealthController],
  // The hub comes from SseModule.forRoot(), which is global.
  providers: [SseHealthIndicator],
})
export class HealthModule {}
