import type { OutgoingHttpHeaders } from 'node:http';
import { type SseKeepRequest, type SlowConsumerPolicy } from '../connection';
import {
  DEFAULT_KEEP_ALIVE,
  DEFAULT_MAX_PENDING_BYTES,
  DEFAULT_RESYNC_EVENT,
  DEFAULT_RUN_MAX_BYTES,
  DEFAULT_RUN_MAX_DURATION,
  DEFAULT_RUN_MAX_EVENTS,
  DEFAULT_RUN_TTL,
  DEFAULT_SLOW_CONSUMER,
} from '../defaults';
import { type RunRoute } from '../hub/hub-runs';
import { type StreamRoute } from '../hub/attached-stream.interface';
import { type SseModuleOptions } from './sse-module-options.interface';
import { type SseRouteOptions } from './sse-route-options.interface';
import { type SseConnectionsPer } from './sse-stream-options.interface';
import { toErrorEvent } from './to-error-event';
import { validateStreamOptions } from './validate-options';

/**
 * Injection token of the module's options as every provider uses them: checked once, and
 * `{}` when `forRoot()` was called without any (or a `forRootAsync` factory gave none).
 */
export const SSE_RESOLVED_OPTIONS = Symbol('SSE_RESOLVED_OPTIONS');

/** What `SSE_RESOLVED_OPTIONS` holds, from what `forRoot()` or the `forRootAsync` factory gave. */
export function resolveOptions(options: SseModuleOptions | undefined | null): SseModuleOptions {
  const resolved = options ?? {};
  validateStreamOptions(resolved, 'SseModule.forRoot()');
  // Only forRootAsync's factory can put it here, after the module's routes were made.
  if ('dashboard' in resolved) {
    throw new TypeError(
      'SseModule.forRootAsync(): give dashboard beside useFactory ({ useFactory, dashboard }), ' +
        'not in what the factory returns: its routes exist before the factory runs.',
    );
  }
  // Silently ignored otherwise: the transport keeps its own history.
  if (resolved.transport && resolved.history !== undefined) {
    throw new TypeError(
      `SseModule.forRoot(): history sets what the in-process transport keeps; ${resolved.transport.constructor.name} ` +
        'keeps its own history (see its options, e.g. maxLen): leave history out.',
    );
  }
  return resolved;
}

/** A route's options over the module's over the defaults, worked out once per route. */
export interface SseResolvedRoute {
  readonly strictAccept: boolean;
  readonly maxConnectionsPer: SseConnectionsPer | undefined;
  /** Whose stream it is, from the request. */
  readonly user: ((request: unknown) => unknown) | undefined;
  /** The module's extra headers, then the route's. */
  readonly moduleHeaders: OutgoingHttpHeaders | undefined;
  readonly routeHeaders: OutgoingHttpHeaders | undefined;
  /** What each of its clients is made with. */
  readonly client: {
    readonly keepAlive: number | false;
    readonly retry: number | undefined;
    readonly maxPendingBytes: number;
    readonly slowConsumer: SlowConsumerPolicy;
    readonly maxEventBytes: number | undefined;
    readonly resyncEvent: string;
    readonly keepRequest: SseKeepRequest | undefined;
  };
  /** What the hub needs of it. */
  readonly stream: StreamRoute;
  /** A resumable route's key and how its runs run. */
  readonly resumable: { readonly key: (request: unknown) => unknown; readonly run: RunRoute } | undefined;
}

export function resolveRoute(module: SseModuleOptions, route: SseRouteOptions): SseResolvedRoute {
  const replay = route.replay ?? module.replay;
  const resyncEvent = route.resyncEvent ?? module.resyncEvent ?? DEFAULT_RESYNC_EVENT;
  const maxEventBytes = route.maxEventBytes ?? module.maxEventBytes;
  const resumable = route.resumable;
  return {
    strictAccept: route.strictAccept === true,
    maxConnectionsPer: route.maxConnectionsPer ?? module.maxConnectionsPer,
    user: route.user ?? module.user,
    moduleHeaders: module.headers,
    routeHeaders: route.headers,
    client: {
      keepAlive: route.keepAlive ?? module.keepAlive ?? DEFAULT_KEEP_ALIVE,
      retry: route.retry ?? module.retry,
      maxPendingBytes: route.maxPendingBytes ?? module.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES,
      slowConsumer: route.slowConsumer ?? module.slowConsumer ?? DEFAULT_SLOW_CONSUMER,
      maxEventBytes,
      resyncEvent,
      keepRequest: route.keepRequest ?? module.keepRequest,
    },
    stream: {
      channels: route.channels,
      presence: route.presence,
      presenceEvents: route.presenceEvents === true,
      // A resumable route's Last-Event-ID names an event of its run, not a broadcast.
      replayLimit: replay === false || resumable ? false : (replay?.limit ?? Infinity),
      resyncEvent,
    },
    resumable: resumable && {
      key: resumable.key,
      run: {
        create: resumable.create !== false,
        ttl: resumable.ttl ?? DEFAULT_RUN_TTL,
        maxEvents: resumable.maxEvents ?? DEFAULT_RUN_MAX_EVENTS,
        maxBytes: resumable.maxBytes ?? DEFAULT_RUN_MAX_BYTES,
        maxDuration: resumable.maxDuration ?? DEFAULT_RUN_MAX_DURATION,
        maxEventBytes: maxEventBytes ?? Infinity,
        errorEvent: toErrorEvent,
      },
    },
  };
}
