import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { type SseKeepRequest } from './kept-request';
import { type SsePendingBudget } from './pending-budget';
import { type SlowConsumerPolicy } from './slow-consumer-policy.type';
import { type StreamTally } from './stream-tally';

/** What opens a stream: the raw Node objects and the options in force for it. */
export interface SseClientInit<TRequest = unknown> {
  /** The request as the framework gives it (Express `Request`, Fastify `FastifyRequest`). */
  request: TRequest;
  /** What `request` keeps once the stream has started (default `DEFAULT_KEEP_REQUEST`). */
  keepRequest?: SseKeepRequest;
  /** Node's request: Express's own, or Fastify's `request.raw`. */
  req: IncomingMessage;
  /** Node's response: Express's own, or Fastify's `reply.raw`. */
  res: ServerResponse;
  /** Milliseconds of silence before a `: keepalive` comment; `false` disables it. */
  keepAlive: number | false;
  /** Sent as `retry:` when the stream starts. */
  retry?: number;
  /** Extra response headers; the stream's own headers win. */
  headers?: OutgoingHttpHeaders;
  lastEventId?: string;
  /** The stream's user, from its route's `user` option (checked by then). */
  user?: string;
  /** Sent as `retry:` before the stream ends for a shutdown: jittered, so that reconnects spread out. */
  shutdownRetry?: number;
  /** Bytes written but not yet taken by the socket before the client counts as slow (default 1 MiB). */
  maxPendingBytes?: number;
  /** What to do with a slow client (default `close`). */
  slowConsumer?: SlowConsumerPolicy;
  /** The `drop` policy's notice once the client catches up (default `resync`). */
  resyncEvent?: string;
  /** The largest encoded event the stream takes, from `send`, `sendEvent`, `comment` or the hub (default: no limit). */
  maxEventBytes?: number;
  /** The application-wide bound on unsent bytes that this stream counts against. */
  pendingBudget?: SsePendingBudget;
  /** Where the stream counts its events, bytes, start and end (its route's tally). */
  tally?: StreamTally;
  /** Where failures that end the stream, or that a close listener throws, are reported (a logger). */
  reportError?: (message: string, error: unknown) => void;
}
