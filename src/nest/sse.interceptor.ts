import {
  BadRequestException,
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
  NotAcceptableException,
  Optional,
} from '@nestjs/common';
import Negotiator from 'negotiator';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { concat, isObservable, lastValueFrom, Observable, Subscriber, Subscription } from 'rxjs';
import {
  isQueuedBehindStream,
  readLastEventId,
  SseClient,
  sseHeaders,
  SsePendingBudget,
} from '../connection';
import { checkUserId } from '../connection/sse-user-id.error';
import { streamOf } from '../connection/internal';
import { DEFAULT_SHUTDOWN_RETRY } from '../defaults';
import { type RunEntrance } from '../hub/hub-runs';
import { HubStreams } from '../hub/hub-streams';
import { type RunProducer } from '../hub/run-producer';
import { isThenable } from '../hub/is-thenable';
import { ThrottledLogger } from '../hub/throttled-logger';
import { encodeEvent, toSseEvent } from '../wire';
import { SSE_ROUTE_OPTIONS } from './constants';
import { setClientOf, setRunSignalOf, skipHandlerOf, takeHandlerCall } from './request-streams';
import { rawHttp } from './raw-http';
import { routeOf } from './route-of';
import { SseConnectionLimiter, SseLimitException } from './sse-connection-limiter';
import { SseModuleMissingError } from './sse-module-missing.error';
import { type SseGateway } from './sse-gateway.interface';
import { type SseHandlerCall } from './sse-handler-call.interface';
import { type SseModuleOptions } from './sse-module-options.interface';
import { resolveRoute, SSE_RESOLVED_OPTIONS, type SseResolvedRoute } from './sse-resolved-options';
import { toErrorEvent } from './to-error-event';
import { isAsyncIterable, isStream, toObservable } from './to-observable';

/**
 * Runs the stream of an `@SseRoute()`: it opens once guards, pipes, the handler, the
 * channels and `onJoin` have all succeeded, so that any of them can still answer with a
 * real HTTP status; then it writes what the handler and the hub send until one side ends.
 */
@Injectable()
export class SseInterceptor implements NestInterceptor {
  private readonly logger = new ThrottledLogger('SseRoute');
  /** Each route's options over the module's, worked out on its first request. */
  private readonly routes = new WeakMap<object, SseResolvedRoute>();

  // Optional, so that an app without SseModule hears what to import rather than Nest's
  // "can't resolve dependencies of the SseInterceptor".
  constructor(
    @Optional() private readonly streams: HubStreams,
    @Optional() private readonly limiter: SseConnectionLimiter,
    @Optional() @Inject(SSE_RESOLVED_OPTIONS) private readonly options: SseModuleOptions,
    @Optional() private readonly pendingBudget: SsePendingBudget,
  ) {
    if (!streams || !limiter || !options || !pendingBudget) throw new SseModuleMissingError();
  }

  /** Failures that end a stream, reported once each (the connection layer has no logger of its own). */
  private readonly reportError = (message: string, error: unknown): void => {
    const reason = (error as Error)?.message ?? String(error);
    this.logger.error(`stream-failed:${reason}`, `${message}: ${reason}`, (error as Error)?.stack);
  };

  intercept(context: ExecutionContext, next: CallHandler): Observable<undefined> {
    const http = context.switchToHttp();
    const request = http.getRequest();
    const response = http.getResponse();
    const route = this.routeOptions(context.getHandler());
    const { req, res, headers } = rawHttp(request, response);
    // The stream is the response (the route takes `@Res()`, so Nest writes none). This
    // Observable errors only before the first byte, for exception filters to answer, and
    // completes once the stream has started, so Nest's pipeline need not outlive setup.
    return new Observable<undefined>((nest) => {
      // Before its user is known: a closeUser from here on ends the stream, however long its setup.
      const startedAt = performance.now();
      let user: unknown;
      try {
        if (route.strictAccept && !acceptsEventStream(req)) {
          this.streams.refused('not_acceptable');
          throw new NotAcceptableException(
            'This route only serves text/event-stream: send "Accept: text/event-stream".',
          );
        }
        // HEAD asks for the headers a GET would get, and nothing else: no stream, no hub, no slot.
        // On a resumable route a GET may get a 204: so does HEAD (the run is looked up, never started).
        if (req.method === 'HEAD' && route.resumable)
          return void this.answerRunHead(request, req, res, route, headers, nest);
        if (req.method === 'HEAD')
          return this.answerHead(
            req,
            res,
            mergeHeaders(route.moduleHeaders, headers, route.routeHeaders),
            nest,
          );
        // Behind an event stream on the same connection, a pipelined request can never be answered.
        if (isQueuedBehindStream(req, res))
          throw new BadRequestException(
            'An event stream never ends, so a request pipelined behind one on its connection cannot be answered: ' +
              'open each stream on a connection of its own.',
          );
        user = route.user?.(request);
      } catch (error) {
        return nest.error(error);
      }
      const start = (id: unknown) =>
        this.start(context, next, nest, route, { request, response, req, res, headers, startedAt }, id);
      if (!isThenable(user)) return start(user);
      // The client may go while the app looks its user up: then there is nothing to start.
      let gone = false;
      const onGone = () => (gone = true);
      res.once('close', onGone);
      // Through a promise: an app's own thenable could call back twice.
      Promise.resolve(user).then(
        (id) => {
          res.off('close', onGone);
          if (gone) return this.handOver(nest, response);
          start(id);
        },
        (error: unknown) => {
          res.off('close', onGone);
          nest.error(error);
        },
      );
    });
  }

  /** Counts the stream in under the limits, then makes its client (of `user`) and sets it up. */
  private start(
    context: ExecutionContext,
    next: CallHandler,
    nest: Subscriber<undefined>,
    route: SseResolvedRoute,
    http: ReturnType<typeof rawHttp> & { request: any; response: any; startedAt: number },
    id: unknown,
  ): void {
    const { request, response, req, res, headers } = http;
    const path = routeOf(request, context);
    let release: () => void;
    let user: string | undefined;
    try {
      user =
        id === undefined || id === null
          ? undefined
          : checkUserId(id, `The user option of ${req.method} ${path}`);
      release = this.limiter.acquire(request, route.maxConnectionsPer, user);
    } catch (error) {
      // Refused before any work: a plain HTTP answer (406, 429, 503) with Retry-After.
      if (error instanceof SseLimitException) {
        this.streams.refused(error.reason);
        res.setHeader('retry-after', String(error.retryAfter));
      }
      return nest.error(error);
    }
    const options = route.client;
    // Every field named, not spread: a literal of one fixed shape is one small object,
    // where a spread followed by more fields built a new hidden class per stream (~5 KiB
    // of garbage per stream, measured with the allocation sampler).
    const client = new SseClient({
      keepAlive: options.keepAlive,
      retry: options.retry,
      maxPendingBytes: options.maxPendingBytes,
      slowConsumer: options.slowConsumer,
      maxEventBytes: options.maxEventBytes,
      resyncEvent: options.resyncEvent,
      keepRequest: options.keepRequest,
      request,
      req,
      res,
      headers: mergeHeaders(route.moduleHeaders, headers, route.routeHeaders),
      lastEventId: readLastEventId(req),
      user,
      shutdownRetry: this.jitteredShutdownRetry(),
      pendingBudget: this.pendingBudget,
      reportError: this.reportError,
      tally: this.streams.tallyOf(path),
    });
    client.onClose(release);
    setClientOf(request, response, client);
    void this.open(client, response, route, `${req.method} ${path}`, next, nest, http.startedAt);
  }

  private routeOptions(handler: object): SseResolvedRoute {
    let resolved = this.routes.get(handler);
    if (!resolved) {
      resolved = resolveRoute(this.options, Reflect.getMetadata(SSE_ROUTE_OPTIONS, handler) ?? {});
      this.routes.set(handler, resolved);
    }
    return resolved;
  }

  private async open(
    client: SseClient,
    response: any,
    route: SseResolvedRoute,
    label: string,
    next: CallHandler,
    nest: Subscriber<undefined>,
    startedAt: number,
  ): Promise<void> {
    // Shutting down: an empty 200 that ends, which EventSource retries (a 503 would stop it for good).
    const stream = this.streams.attach(client, route.stream, label, startedAt);
    if (!stream) return this.handOver(nest);
    let run: RunEntrance | undefined;
    let call: SseHandlerCall;
    try {
      if (route.resumable) {
        run = await this.enterRun(client, response, route.resumable);
        if (run.kind === 'none') return this.answerNoContent(client, response, nest);
      }
      const emitted = await lastValueFrom(next.handle(), { defaultValue: undefined });
      // No call recorded: an inner interceptor answered without running the handler.
      call = takeHandlerCall(response) ?? { gateway: {}, result: emitted };
    } catch (error) {
      // Pipes refused or the handler threw: Nest answers, and no hook has run yet.
      if (run) await this.streams.runs.release(run);
      streamOf(client).end('error');
      return nest.error(error);
    }
    const gateway = call.gateway as SseGateway;
    try {
      if (run?.kind === 'read' && run.producer) this.produce(run.producer, call.result);
      const opened = await stream.open({
        result: run?.kind === 'read' ? this.streams.runs.follow(client, run) : call.result,
        onMessage: gateway.onMessage && ((message, to) => gateway.onMessage!(message, to)),
        onJoin: gateway.onJoin && (() => gateway.onJoin!(client)),
        onClose:
          gateway.onClose &&
          ((reason) => this.callHook('onClose', client, () => gateway.onClose!(client, reason))),
      });
      // The client went, or the app began to shut down, during setup.
      if (!opened) return this.handOver(nest);
      const { head, joined, result } = opened;
      // The resync and onJoin's value go out first, ahead of what the hub queued meanwhile.
      const pipeline: NestPipeline = { nest };
      this.stream(client, head + (isStream(joined) ? '' : encodeValue(joined)), joined, result, pipeline);
      if (streamOf(client).started) {
        // The subscription outlives setup: it must not hold on to Nest's pipeline.
        pipeline.nest = undefined;
        this.handOver(nest, response);
      }
    } catch (error) {
      this.fail(client, error, nest);
    }
  }

  /**
   * Where the request stands with its key's run: it starts it (the handler runs, given the
   * run's signal), joins it (the handler does not run), or finds nothing to read.
   */
  private async enterRun(
    client: SseClient,
    response: object,
    resumable: NonNullable<SseResolvedRoute['resumable']>,
  ): Promise<RunEntrance> {
    const key = await resumable.key(client.request);
    const run = await this.streams.runs.enter(key, resumable.run, client.lastEventId);
    if (run.kind === 'read') {
      if (run.producer) setRunSignalOf(client.request as object, run.producer.controller.signal);
      else {
        setRunSignalOf(client.request as object, NEVER_ABORTED);
        skipHandlerOf(response);
      }
    }
    return run;
  }

  /**
   * The handler's values are the run's, whatever becomes of this request: an async
   * iterable is driven here, so that stopping the run returns it at once rather than at
   * its next value.
   */
  private produce(producer: RunProducer, result: unknown): void {
    if (isThenable(result)) {
      result.then(
        (value) => this.produce(producer, value),
        (error: unknown) => producer.fail(error),
      );
      return;
    }
    if (isAsyncIterable(result) && !isObservable(result)) return void drive(producer, result);
    const subscription = toObservable(result).subscribe({
      next: (value) => producer.next(value),
      error: (error: unknown) => void producer.fail(error),
      complete: () => void producer.complete(),
    });
    producer.onStop(unsubscriber(subscription));
  }

  /** Nothing to read (no run, or the client has all of one that ended): 204, which EventSource does not retry. */
  private answerNoContent(client: SseClient, response: any, nest: Subscriber<undefined>): void {
    // Ended before it started, without its 200: the limiter's slot is freed, nothing is written.
    streamOf(client).end('error');
    const { res, headers } = rawHttp(client.request, response);
    res.writeHead(204, headers);
    res.end();
    this.handOver(nest);
  }

  /** HEAD on a resumable route: 204 where a GET would find nothing to read, else the stream's headers. */
  private async answerRunHead(
    request: unknown,
    req: IncomingMessage,
    res: ServerResponse,
    route: SseResolvedRoute,
    headers: OutgoingHttpHeaders | undefined,
    nest: Subscriber<undefined>,
  ): Promise<void> {
    const resumable = route.resumable!;
    try {
      const key = await resumable.key(request);
      const run = await this.streams.runs.enter(
        key,
        { ...resumable.run, create: false },
        readLastEventId(req),
      );
      if (run.kind === 'none') {
        res.writeHead(204, mergeHeaders(route.moduleHeaders, headers, route.routeHeaders));
        res.end();
        return this.handOver(nest);
      }
    } catch (error) {
      return nest.error(error);
    }
    this.answerHead(req, res, mergeHeaders(route.moduleHeaders, headers, route.routeHeaders), nest);
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

  /**
   * The response is ours from here on: Nest's pipeline may finish (it replies nothing, the
   * route has `@Res()`). On Fastify, Nest's route returns the reply, a thenable that settles
   * only when the response ends: hijacked, it settles now, and Nest's pipeline (the
   * execution context, the Observables, the async frames) is not held for the stream's life.
   */
  private handOver(nest: Subscriber<undefined>, response?: any): void {
    if (typeof response?.hijack === 'function' && response.raw) response.hijack();
    nest.next(undefined);
    nest.complete();
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
    const writer = streamOf(client);
    const subscription = source.subscribe({
      next: (value) => {
        const sent = client.send(value);
        if (!sent.ok && !client.closed) this.fail(client, sent.error, pipeline.nest);
      },
      error: (error: unknown) => this.fail(client, error, pipeline.nest),
      complete: () => {
        if (!endsOnComplete) return;
        // Completed before the headers: end right after them, so the head is not lost.
        if (writer.started) writer.end('completed');
        else completedEarly = true;
      },
    });
    // Nothing to stop when the source is already done (a handler that returned nothing).
    if (!subscription.closed) client.onClose(unsubscriber(subscription));
    writer.start(head);
    if (completedEarly) writer.end('completed');
  }

  /** Before the first byte: an HTTP error through Nest. After: one `event: error`, logged. */
  private fail(client: SseClient, error: unknown, nest: Subscriber<undefined> | undefined): void {
    if (client.closed) return;
    const writer = streamOf(client);
    if (!writer.started && nest) {
      writer.end('error');
      nest.error(error);
      return;
    }
    const reason = (error as Error)?.message ?? String(error);
    this.logger.error(
      `handler-failed:${reason}`,
      `SSE stream ${client.id} failed and was closed after an error event (its client reconnects): ${reason}`,
      (error as Error)?.stack,
    );
    writer.write(encodeEvent(toErrorEvent(error)));
    writer.end('error');
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

/** An async iterable's values into the run, stopped with it: `return()` is called when the run ends first. */
async function drive(producer: RunProducer, iterable: AsyncIterable<unknown>): Promise<void> {
  let iterator: AsyncIterator<unknown>;
  try {
    iterator = iterable[Symbol.asyncIterator]();
  } catch (error) {
    return void producer.fail(error);
  }
  producer.onStop(() => void Promise.resolve(iterator.return?.()).catch(() => undefined));
  try {
    while (producer.running) {
      const { value, done } = await iterator.next();
      if (done || !producer.running) break;
      producer.next(value);
    }
    if (producer.running) await producer.complete();
  } catch (error) {
    await producer.fail(error);
  }
}

/** The signal handed to a handler that does not run (its request joins a run): never aborted. */
const NEVER_ABORTED = new AbortController().signal;

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
