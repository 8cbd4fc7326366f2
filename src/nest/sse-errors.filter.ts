import { type ArgumentsHost, BadRequestException, Catch } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { SseChannelNameError } from '../connection';
import { SseTransportUnavailableError } from '../hub';
import { SseRunKeyError } from '../hub/sse-run-key.error';

/**
 * Answers what a route lets escape from the hub as HTTP would, rather than 500, and
 * leaves the rest to Nest: a channel name no transport can store (from the request, most
 * likely) is 400; the transport being away is Nest's 503 plus `Retry-After`. Registered
 * by `SseModule`; a filter of the app's on the controller or method still comes first.
 */
@Catch(SseTransportUnavailableError, SseChannelNameError, SseRunKeyError)
export class SseErrorsFilter extends BaseExceptionFilter {
  override catch(
    error: SseTransportUnavailableError | SseChannelNameError | SseRunKeyError,
    host: ArgumentsHost,
  ): void {
    if (error instanceof SseChannelNameError || error instanceof SseRunKeyError)
      return super.catch(new BadRequestException(error.message, { cause: error }), host);
    if (host.getType() === 'http') {
      const adapter = this.httpAdapterHost?.httpAdapter;
      const response = host.switchToHttp().getResponse();
      if (adapter && !adapter.isHeadersSent(response))
        adapter.setHeader(response, 'Retry-After', String(error.retryAfter));
    }
    super.catch(error, host);
  }
}
