import { type Observable } from 'rxjs';
import { RequestMapping, RequestMethod, SetMetadata, UseInterceptors } from '@nestjs/common';
import { SSE_ROUTE_OPTIONS } from './constants';
import { type SseEventMap, type SseEventOf } from '../hub/sse-event-map.type';
import { type SseRouteOptions } from './sse-route-options.interface';
import { SseInterceptor } from './sse.interceptor';
import { validateStreamOptions } from './validate-options';
import { wrapSseHandler } from './wrap-sse-handler';

/**
 * Makes a controller method a Server-Sent Events route (GET by default). The method may
 * return an Observable, an AsyncIterable, a Promise, a single value or nothing; the
 * app's guards, pipes, interceptors and exception filters still apply.
 *
 * @example
 * ```ts
 * @SseRoute(':room/events', { channels: (req) => [`room:${req.params.room}`] })
 * events(@ConnectedClient() client: SseClient) { return interval(1000); }
 * ```
 * Typed with an event map (`@SseRoute<RoomEvents>(...)`), the values the method returns
 * are checked against it, as `SseHub<RoomEvents>` checks what it broadcasts.
 * @publicApi
 */
export function SseRoute<TEvents extends SseEventMap = any>(
  path?: string | string[],
  options?: SseRouteOptions,
): SseRouteDecorator<TEvents>;
export function SseRoute<TEvents extends SseEventMap = any>(
  options: SseRouteOptions,
): SseRouteDecorator<TEvents>;
export function SseRoute(
  pathOrOptions?: string | string[] | SseRouteOptions,
  maybeOptions: SseRouteOptions = {},
): SseRouteDecorator<any> {
  const isPath =
    pathOrOptions === undefined || typeof pathOrOptions === 'string' || Array.isArray(pathOrOptions);
  const path = isPath ? (pathOrOptions as string | string[] | undefined) : undefined;
  const options = isPath ? maybeOptions : (pathOrOptions as SseRouteOptions);
  validateStreamOptions(options, '@SseRoute()');
  if ('history' in options)
    throw new TypeError(
      "@SseRoute(): a route replays with replay: { limit } or replay: false; history is the module's.",
    );

  return (target, key, descriptor) => {
    wrapSseHandler(target, key, descriptor);
    RequestMapping({ path, method: options.method ?? RequestMethod.GET })(target, key, descriptor);
    SetMetadata(SSE_ROUTE_OPTIONS, options)(target, key, descriptor);
    UseInterceptors(SseInterceptor)(target, key, descriptor);
  };
}

/**
 * What an `@SseRoute()` method may return: one value, nothing, an Observable or an
 * AsyncIterable of values, or a Promise of either; with an event map, the values are its events.
 *
 * @publicApi
 */
export type SseRouteResult<TEvents extends SseEventMap = any> =
  SseRouteValues<SseEventOf<TEvents>> | Promise<SseRouteValues<SseEventOf<TEvents>>>;

/** The values of a route, without the Promise. @publicApi */
export type SseRouteValues<TValue> =
  TValue | Observable<TValue> | AsyncIterable<TValue> | void | null | undefined;

/**
 * The decorator `@SseRoute()` gives: a method decorator that checks what the method
 * returns against the route's event map (anything, without one).
 *
 * @typeParam TMethod - the decorated method, whose result must be an `SseRouteResult`.
 * @publicApi
 */
export type SseRouteDecorator<TEvents extends SseEventMap = any> = <
  TMethod extends (...args: any[]) => SseRouteResult<TEvents>,
>(
  target: object,
  key: string | symbol,
  descriptor: TypedPropertyDescriptor<TMethod>,
) => void;
