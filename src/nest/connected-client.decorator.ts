import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { type SseClient } from '../connection';
import { clientOf } from './request-streams';

/**
 * Hands an `@SseRoute()` handler the `SseClient` of its stream, as `@ConnectedSocket()`
 * does for gateways.
 *
 * @publicApi
 */
export const ConnectedClient = createParamDecorator(
  (_data: unknown, context: ExecutionContext): SseClient => {
    const client = clientOf(context.switchToHttp().getRequest());
    if (!client) {
      throw new Error(
        '@ConnectedClient() only works on a method decorated with @SseRoute(): use @SseRoute() instead of @Get()/@Sse().',
      );
    }
    return client;
  },
);
