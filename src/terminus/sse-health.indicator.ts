import { Injectable } from '@nestjs/common';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { SseHub } from '../hub';
import { type SseHealthDetails } from './sse-health-details.interface';

/**
 * The hub as a `@nestjs/terminus` health indicator: up while its transport carries
 * messages (in process, always; with Redis, while both connections are ready and the
 * reader reads), down with the transport's reason while it does not. Add it to the
 * providers of the module that imports `TerminusModule`.
 *
 * A full instance (`streams` at `maxConnections`) stays up: it refuses new streams with
 * a 503 and `Retry-After` and serves the ones it has, and an orchestrator that restarted
 * it for being busy would drop them all. Alert on `streams` against `maxConnections`.
 *
 * @publicApi
 */
@Injectable()
export class SseHealthIndicator {
  constructor(
    private readonly hub: SseHub,
    private readonly healthIndicatorService: HealthIndicatorService,
  ) {}

  /** For `HealthCheckService.check([() => sse.isHealthy()])`; `key` names its entry in the result. */
  isHealthy<Key extends string = 'sse'>(
    key: Key = 'sse' as Key,
  ): HealthIndicatorResult<Key, 'up' | 'down', SseHealthDetails> {
    const { transport, streams, maxConnections } = this.hub.stats();
    const details = {
      transport: transport.name,
      streams,
      ...(maxConnections !== undefined && { maxConnections }),
    };
    const indicator = this.healthIndicatorService.check(key);
    if (transport.up) return indicator.up(details);
    return indicator.down({ ...details, reason: transport.reason ?? 'the transport reports it is down' });
  }
}
