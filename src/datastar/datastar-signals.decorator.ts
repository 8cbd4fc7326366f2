import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { readSignals } from './read-signals';

/**
 * The Datastar signals of the request (see `readSignals`), as a handler parameter:
 * `@SseRoute('counter') counter(@DatastarSignals() signals: { count: number })`.
 *
 * @publicApi
 */
export const DatastarSignals = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  readSignals(context.switchToHttp().getRequest()),
);
