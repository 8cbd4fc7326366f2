import {
  BadRequestException,
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
  NotAcceptableException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import Negotiator from 'negotiator';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { concat, lastValueFrom, Observable, Subscriber, Subscription } from 'rxjs';
import {
  isQueuedBehindStream,
  readLastEventId,
  SseClient,
  sseHeaders,
  SsePendingBudget,
} from '../connection';
import { streamOf } from '../connection/internal';
import { SseHub } from '../hub';
import { ThrottledLogger } from '../hub/throttled-logger';
import { encodeEvent, toSseEvent } from '../wire';
import {
  DEFAULT_KEEP_ALIVE,
  DEFAULT_RESYNC_EVENT,
  DEFAULT_SHUTDOWN_RETRY,
  SSE_CLIENT,
  SSE_HANDLER_CALL,
  SSE_ROUTE_OPTIONS,
} from './constants';
import { rawHttp } from './raw-http';
import { routeOf } from './route-of';
import { SseConnectionLimiter, SseLimitException } from './sse-connection-limiter';
import { type SseGateway } from './sse-gateway.interface';
import { type SseHandlerCall } from './sse-handler-call.interface';
import { type SseModuleOptions } from './sse-module-options.interface';
import { type SseChannels, type SseRouteOptions } from './sse-route-options.interface';
import { SSE_RESOLVED_OPTIONS } from './sse-resolved-options';
import { toErrorEvent } from './to-error-event';
import { isStream, isThenable, toObservable } from './to-observable';

/**
 * Runs the stream of an `@SseRoute()`: it opens once guards, pipes, the handler, the
 * channels and `onJoin` have all succeeded, so that any of them can still answer with a
 * real HTTP status; then it writes what the handler and the hub send until one side ends.
 */
@Injectable()
export class SseInterceptor implements NestInterceptor {
  private readonly logger = new ThrottledLogger('SseRoute');

  constructor(
    private readonly hub: SseHub,
    private readonly reflector: Reflector,
    private readonly limiter: SseConnectionLimiter,
    @Inject(SSE_RESOLVED_OPTIONS) private readonly options: SseModuleOptions,
    private readonly pendingBudget: SsePendingBudget,
  ) {}

  /** Failures that end a stream, reported once each (the connection layer has no logger of its own). */
  private readonly reportError = (message: string, error: unknown): void => {
    const reason = (error as Error)?.message ?? String(error);
    this.logger.error(`stream-failed:${reason}`, `${message}: ${reason}`, (error as Error)?.stack);
  };

  intercept(context: ExecutionContext, next: CallHandler): Observable<undefined> {
    const http = context.switchToHttp();
    const request = http.getRequest();
    const response = http.getResponse();
    const route: SseRouteOptions = this.reflector.get(SSE_ROUTE_OPTIONS, context.getHandler()) ?? {};
    const { req, res, headers } = rawHttp(request, response);
    // The stream is the response (the route takes `@Res()`, so Nest writes none). This
    // Observable errors only before the first byte, for exception filters to answer, and
    // completes once the stream has started, so Nest's pipeline need not outlive setup.
    return new Observable<undefined>((nest) => {
      let release: () => void;
      try {
        if (route.strictAccept && !acceptsEventStream(req)) {
          this.hub.metrics.streamRejected('not_acceptable');
          throw new NotAcceptableException(
            'This route only serves text/event-stream: send "Accept: text/event-stream".',
          );
        }
        // HEAD asks for the headers a GET would get, and nothing else: no stream, no hub, no slot.
        if (req.method === 'HEAD')
          return this.answerHead(req, res, mergeHeaders(this.options.headers, headers, route.headers), nest);
        // Behind an event stream on the same connection, a pipelined request can never be answered.
        if (isQueuedBehindStream(req, res))
          throw new BadRequestException(
            'An event stream never ends, so a request pipelined behind one on its connection cannot be answered: open each stream on a connection of its own.',
          );
        release = this.limiter.acquire(request, route.maxConnectionsPer ?? this.options.maxConnectionsPer);
      } catch (error) {
        // Refused before any work: a plain HTTP answer (406, 429, 503) with Retry-After.
        if (error instanceof SseLimitException) {
          this.hub.metrics.streamRejected(error.reason);
          res.setHeader('retry-after', String(error.retryAfter));
        }
        return nest.error(error);
      }
      const path = routeOf(request, context);
      const client = new SseClient({
        request,
        req,
        res,
        keepAlive: route.keepAlive ?? this.options.keepAlive ?? DEFAULT_KEEP_ALIVE,
        retry: route.retry ?? this.options.retry,
        headers: mergeHeaders(this.options.headers, headers, route.headers),
        lastEventId: readLastEventId(req),
        shutdownRetry: this.jitteredShutdownRetry(),
        maxPendingBytes: route.maxPendingBytes ?? this.options.maxPendingBytes,
        slowConsumer: route.slowConsumer ?? this.options.slowConsumer,
        maxEventBytes: route.maxEventBytes ?? this.options.maxEventBytes,
        resyncEvent: this.resyncEvent(route),
        pendingBudget: this.pendingBudget,
        reportError: this.reportError,
        tally: this.hub.metrics.route(path),
      });
      client.onClose(release);
      request[SSE_CLIENT] = response[SSE_CLIENT] = client;
      void this.open(client, response, route, `${req.method} ${path}`, next, nest);
    });
  }

  private async open(
    client: SseClient,
    response: any,
    route: SseRouteOptions,
    label: string,
    next: CallHandler,
    nest: Subscriber<undefined>,
  ): Promise<void> {
    // Shutting down: an empty 200 that ends, which EventSource retries (a 503 would stop it for good).
    if (this.hub.closing) {
      this.hub.metrics.streamRejected('shutting_down');
      streamOf(client).end('shutdown');
      return this.handOver(nest);
    }
    let call: SseHandlerCall;
    try {
      const emitted = await lastValueFrom(next.handle(), { defaultValue: undefined });
      // No call recorded: an inner interceptor answered without running the handler.
      call = response[SSE_HANDLER_CALL] ?? { gateway: {}, result: emitted };
      response[SSE_HANDLER_CALL] = undefined;
    } catch (error) {
      // Pipes refused or the handler threw: Nest answers, and no hook has run yet.
      streamOf(client).end('error');
      return nest.error(error);
    }
    const gateway = call.gateway as SseGateway;
    // In the hub from here on, so that onJoin counts it and can broadcast to it (what the
    // hub sends is queued until the stream starts). Registered before the onClose hook,
    // so that the hook already sees the hub without it.
    const replays = route.history !== false && this.options.history !== false;
    this.hub.register(client, {
      onMessage: gateway.onMessage && ((message, to) => gateway.onMessage!(message, to)),
      replay: replays,
      presenceEvents: route.presenceEvents,
    });
    if (gateway.onClose)
      client.onClose((reason) => this.callHook('onClose', client, () => gateway.onClose!(client, reason)));
    try {
      const result = isThenable(call.result) ? await call.result : call.result;
      if (this.stopped(client)) return this.handOver(nest);
      await joinChannels(client, route.channels);
      if (this.stopped(client)) return this.handOver(nest);
      if (route.presence) this.hub.describe(client, await route.presence(client), label);
      if (this.stopped(client)) return this.handOver(nest);
      // Before onJoin, which can then answer a gap with a snapshot.
      if (replays)
        streamOf(client).setReplay(
          await this.hub.replay(client, route.history ? route.history.size : undefined),
        );
      if (this.stopped(client)) return this.handOver(nest);
      const joined = gateway.onJoin ? await gateway.onJoin(client) : undefined;
      if (this.stopped(client)) return this.handOver(nest);
      // What the replay found (of the channels the client is in by now) and the live messages held meanwhile.
      this.hub.resume(client);
      if (client.closed) return this.handOver(nest);
      // The resync and onJoin's value go out first, ahead of what the hub queued meanwhile.
      const head = this.resync(client, route) + (isStream(joined) ? '' : encodeValue(joined));
      const pipeline: NestPipeline = { nest };
      this.stream(client, head, joined, result, pipeline);
      if (streamOf(client).started) {
        // The subscription outlives setup: it must not hold on to Nest's pipeline.
        pipeline.nest = undefined;
        this.handOver(nest);
      }
    } catch (error) {
      this.fail(client, error, nest);
    }
  }

  /** The headers of the stream, and the end: what a GET would get, without the body. */
  private answerHead(
    req: IncomingMessage,
    res: ServerResponse,
    headers: OutgoingHttpHeaders | undefined,
    nest: Subscriber<undefined>,
  ): void {
    res.writeHead(200, sseHeaders(req.httpVersionMajor, headers));
    res.end();
    this.handOver(nest);
  }

  /** The response is ours from here on: Nest's pipeline may finish (it replies nothing, the route has `@Res()`). */
  private handOver(nest: Subscriber<undefined>): void {
    nest.next(undefined);
    nest.complete();
  }

  /** Whether setup must stop: the client is gone, or the app began to shut down meanwhile. */
  private stopped(client: SseClient): boolean {
    if (this.hub.closing) streamOf(client).end('shutdown');
    return client.closed;
  }

  /** A gap is said first, before anything else the client gets. */
  private resync(client: SseClient, route: SseRouteOptions): string {
    if (client.replay !== 'gap') return '';
    return encodeEvent({
      event: this.resyncEvent(route),
      data: JSON.stringify({ lastEventId: client.lastEventId }),
    });
  }

  private resyncEvent(route: SseRouteOptions): string {
    return route.resyncEvent ?? this.options.resyncEvent ?? DEFAULT_RESYNC_EVENT;
  }

  private jitteredShutdownRetry(): number | undefined {
    const range = this.options.shutdownRetry ?? DEFAULT_SHUTDOWN_RETRY;
    return range ? range.min + Math.floor(Math.random() * (range.max - range.min + 1)) : undefined;
  }

  /** Subscribes to the handler's values (after onJoin's, if a stream) and starts with `head`. */
  private stream(
    client: SseClient,
    head: string,
    joined: unknown,
    result: unknown,
    pipeline: NestPipeline,
  ): void {
    const joinedIsStream = isStream(joined);
    // A single value (or nothing) leaves the stream open for the hub; a stream of the
    // handler's own ends it when it completes.
    const endsOnComplete = isStream(result);
    const source = joinedIsStream ? concat(toObservable(joined), toObservable(result)) : toObservable(result);
    // Subscribed before the headers go out: an Observable that fails at once still gets
    // its HTTP status; what it emits meanwhile is queued by the client.
    let completedEarly = false;
    const subscription = source.subscribe({
      next: (value) => {
        const sent = client.send(value);
        if (!sent.ok && !client.closed) this.fail(client, sent.error, pipeline.nest);
      },
      error: (error: unknown) => this.fail(client, error, pipeline.nest),
      complete: () => {
        if (!endsOnComplete) return;
        // Completed before the headers: end right after them, so the head is not lost.
        if (streamOf(client).started) streamOf(client).end('completed');
        else completedEarly = true;
      },
    });
    // Nothing to stop when the source is already done (a handler that returned nothing).
    if (!subscription.closed) client.onClose(unsubscriber(subscription));
    streamOf(client).start(head);
    if (completedEarly) streamOf(client).end('completed');
  }

  /** Before the first byte: an HTTP error through Nest. After: one `event: error`, logged. */
  private fail(client: SseClient, error: unknown, nest: Subscriber<undefined> | undefined): void {
    if (client.closed) return;
    if (!streamOf(client).started && nest) {
      streamOf(client).end('error');
      nest.error(error);
      return;
    }
    const reason = (error as Error)?.message ?? String(error);
    this.logger.error(
      `handler-failed:${reason}`,
      `SSE stream ${client.id} failed and was closed after an error event (its client reconnects): ${reason}`,
      (error as Error)?.stack,
    );
    streamOf(client).write(encodeEvent(toErrorEvent(error)));
    streamOf(client).end('error');
  }

  private callHook(name: string, client: SseClient, hook: () => unknown): void {
    const report = (error: unknown) => {
      const reason = (error as Error)?.message ?? String(error);
      this.logger.error(
        `${name}:${reason}`,
        `${name} threw for SSE client ${client.id}; the stream is unaffected. Fix the gateway's ${name}: ${reason}`,
        (error as Error)?.stack,
      );
    };
    try {
      const result = hook();
      if (isThenable(result)) result.then(undefined, report);
    } catch (error) {
      report(error);
    }
  }
}

/** Under `strictAccept`, an `Accept` that is missing or does not allow event streams (`q=0` included) gets 406. */
function acceptsEventStream(req: IncomingMessage): boolean {
  return !!req.headers.accept && new Negotiator(req).mediaTypes(['text/event-stream']).length > 0;
}

/** Nest's subscriber while setup may still answer with an HTTP error; cleared once the stream has started. */
interface NestPipeline {
  nest: Subscriber<undefined> | undefined;
}

/** Made outside the closures of `stream()`, which V8 would otherwise keep alive with it. */
function unsubscriber(subscription: Subscription): () => void {
  return () => subscription.unsubscribe();
}

/** The stream's extra headers, or nothing when there are none (most streams). */
function mergeHeaders(...sources: Array<OutgoingHttpHeaders | undefined>): OutgoingHttpHeaders | undefined {
  let merged: OutgoingHttpHeaders | undefined;
  for (const source of sources)
    if (source && Object.keys(source).length > 0) merged = { ...merged, ...source };
  return merged;
}

function encodeValue(value: unknown): string {
  const event = toSseEvent(value);
  return event ? encodeEvent(event) : '';
}

async function joinChannels(client: SseClient, channels: SseChannels | undefined): Promise<void> {
  if (!channels) return;
  const given = typeof channels === 'function' ? await channels(client.request) : channels;
  // One channel may be given as a string (iterated, it would join one channel per character).
  const list: Iterable<unknown> = typeof given === 'string' ? [given] : given;
  if (
    list === null ||
    typeof list !== 'object' ||
    typeof (list as Iterable<unknown>)[Symbol.iterator] !== 'function'
  ) {
    throw new TypeError(
      `@SseRoute() channels must give a channel name or a list of them, got ${describe(list)}. Fix the route's channels option.`,
    );
  }
  for (const channel of list) {
    if (typeof channel !== 'string') {
      throw new TypeError(
        `@SseRoute() channels must be strings, got ${describe(channel)}. Fix the route's channels option.`,
      );
    }
    // A name no transport can store (SseChannelNameError) is 400, through SseErrorsFilter.
    client.join(channel);
  }
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}
