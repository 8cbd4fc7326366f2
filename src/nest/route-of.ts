import { type ExecutionContext } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants';

const declared = new WeakMap<object, string>();

/** The route as declared on the controller, for an adapter that does not say which it matched. */
function declaredRoute(context: ExecutionContext): string {
  const handler = context.getHandler();
  let route = declared.get(handler);
  if (route === undefined) {
    const parts = [
      Reflect.getMetadata(PATH_METADATA, context.getClass()),
      Reflect.getMetadata(PATH_METADATA, handler),
    ];
    route =
      '/' +
      parts
        .flat()
        .filter((part) => typeof part === 'string' && part !== '' && part !== '/')
        .map((part: string) => part.replace(/^\/+|\/+$/g, ''))
        .join('/');
    declared.set(handler, route);
  }
  return route;
}

/**
 * The route's template (`/rooms/:room/events`, global prefix included), which metrics call
 * `http.route`: Express's matched route, Fastify's route URL, else the controller's
 * declaration. Never the URL itself, whose ids would make a metric per client.
 */
export function routeOf(request: any, context: ExecutionContext): string {
  const matched: unknown = request.route?.path ?? request.routeOptions?.url;
  return typeof matched === 'string' ? matched : declaredRoute(context);
}
