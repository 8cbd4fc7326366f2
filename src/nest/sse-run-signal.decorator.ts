import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { runSignalOf } from './request-streams';

/**
 * Hands a resumable `@SseRoute()` handler the `AbortSignal` of the run it produces: it
 * aborts when `SseHub.abortRun(key)` is called on any instance, when the run overruns its
 * `maxDuration`, or when this instance shuts down. Pass it on (`fetch(url, { signal })`,
 * an LLM client's `signal`) so that the work stops with the run. Not when the client that
 * started it goes away: the run goes on for its other readers.
 *
 * @publicApi
 */
export const SseRunSignal = createParamDecorator((_data: unknown, context: ExecutionContext): AbortSignal => {
  const signal = runSignalOf(context.switchToHttp().getRequest());
  if (!signal) {
    throw new Error(
      '@SseRunSignal() only works on a resumable route: @SseRoute(path, { resumable: { key: (req) => … } }).',
    );
  }
  return signal;
});
