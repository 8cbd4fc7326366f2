import { RequestMapping, RequestMethod, SetMetadata, UseInterceptors } from '@nestjs/common';
import { SSE_ROUTE_OPTIONS } from './constants';
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
 * @publicApi
 */
export function SseRoute(path?: string | string[], options?: SseRouteOptions): MethodDecorator;
export function SseRoute(options: SseRouteOptions): MethodDecorator;
export function SseRoute(
  pathOrOptions?: string | string[] | SseRouteOptions,
  maybeOptions: SseRouteOptions = {},
): MethodDecorator {
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
