import { HttpException, HttpStatus } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { type SseEvent } from '../wire';

/**
 * The one `event: error` a stream sends when it fails after it started: an
 * `HttpException`'s status and message, a generic message for anything else, never a
 * stack or an internal message.
 */
export function toErrorEvent(error: unknown): SseEvent {
  if (!(error instanceof HttpException)) {
    return {
      event: 'error',
      data: JSON.stringify({
        statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
        message: 'Internal server error',
      }),
    };
  }
  const statusCode = error.getStatus();
  // `new UnauthorizedException(err)` carries err's message, which must not reach the client.
  const message =
    error.getResponse() instanceof Error ? (STATUS_CODES[statusCode] ?? 'Error') : error.message;
  return { event: 'error', data: JSON.stringify({ statusCode, message }) };
}
