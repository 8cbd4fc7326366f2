import { HttpException, HttpStatus } from '@nestjs/common';
import { SseEvent } from '../wire';

/**
 * The one `event: error` a stream sends when it fails after it started: an
 * `HttpException`'s status and message, a generic message for anything else, never a
 * stack or an internal message.
 */
export function toErrorEvent(error: unknown): SseEvent {
  const body =
    error instanceof HttpException
      ? { statusCode: error.getStatus(), message: error.message }
      : { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, message: 'Internal server error' };
  return { event: 'error', data: JSON.stringify(body) };
}
