import { Res } from '@nestjs/common';
import { PARAMTYPES_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { clientOf, recordHandlerCall, skipsHandler } from './request-streams';
import { type SseHandlerCall } from './sse-handler-call.interface';

type Handler = (...args: unknown[]) => unknown;

/** The first argument position after every declared and decorated parameter. */
function nextFreeIndex(target: object, key: string | symbol, handler: Handler): number {
  const paramtypes: unknown[] = Reflect.getMetadata(PARAMTYPES_METADATA, target, key) ?? [];
  const routeArgs: Record<string, { index: number }> =
    Reflect.getMetadata(ROUTE_ARGS_METADATA, target.constructor, key) ?? {};
  const decorated = Object.values(routeArgs).map(({ index }) => index + 1);
  return Math.max(handler.length, paramtypes.length, ...decorated);
}

/**
 * Wraps an `@SseRoute()` handler so that the interceptor learns two things Nest keeps
 * to itself: the moment guards and pipes have passed and the handler ran (so that any
 * failure up to then is still an HTTP status), and what it returned as it is (a
 * Promise is awaited before the stream opens, so it can still refuse with 404; an
 * Observable is subscribed only once). The response reaches the wrapper through one
 * extra `@Res()` argument past the declared ones; the handler itself never sees it, and
 * a direct call (a unit test) runs the handler unchanged. `@Res()` also tells Nest that
 * the route answers by itself, so the interceptor can let Nest's pipeline finish (and be
 * collected) as soon as the stream has started, instead of holding it for its lifetime.
 */
export function wrapSseHandler(
  target: object,
  key: string | symbol,
  descriptor: TypedPropertyDescriptor<any>,
): void {
  const handler = descriptor.value as Handler;
  const responseIndex = nextFreeIndex(target, key, handler);
  Res()(target, key, responseIndex);

  const wrapped = function (this: object, ...args: unknown[]): unknown {
    const response = args[responseIndex] as object | undefined;
    if (!clientOf(response)) return handler.apply(this, args);
    // A request that joins a resumable run reads it: the handler that produces it ran once, elsewhere.
    const result = skipsHandler(response!) ? undefined : handler.apply(this, args.slice(0, responseIndex));
    const call: SseHandlerCall = { gateway: this, result };
    recordHandlerCall(response!, call);
    return undefined;
  };
  Object.defineProperty(wrapped, 'name', { value: handler.name });
  // Decorators below @SseRoute() stored their metadata on the original function.
  for (const metadataKey of Reflect.getOwnMetadataKeys(handler)) {
    Reflect.defineMetadata(metadataKey, Reflect.getOwnMetadata(metadataKey, handler), wrapped);
  }
  descriptor.value = wrapped;
}
