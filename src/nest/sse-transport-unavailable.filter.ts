import { type ArgumentsHost, Catch } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { SseTransportUnavailableError } from '../hub';

/**
 * Adds `Retry-After` to the 503 that Nest answers when a route fails because the hub's
 * transport is away (a `broadcast` it awaited rejected): the rest is Nest's own answer.
 * Registered by `SseModule`; a filter of the app's on the controller or method still
 * comes first.
 */
@Catch(SseTransportUnavailableError)
export class SseTransportUnavailableFilter extends BaseExceptionFilter {
  override catch(error: SseTransportUnavailableError, host: ArgumentsHost): void {
    if (host.getType() === 'http') {
      const adapter = this.httpAdapterHost?.httpAdapter;
      const response = host.switchToHttp().getResponse();
      if (adapter && !adapter.isHeadersSent(response)) adapter.setHeader(response, 'Retry-After', String(error.retryAfter));
    }
    super.catch(error, host);
  }
}
