import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { DEFAULT_MAX_PENDING_BYTES, DEFAULT_RESYNC_EVENT, DEFAULT_SLOW_CONSUMER } from '../defaults';
import { assertRetry, encodeComment, encodeResync, encodeRetry, exceedsBytes } from '../wire';
import { abortConnection } from './abort-connection';
import { type Flushable, joinBatch, scheduleFlush } from './flush-scheduler';
import { type KeepAliveStream, KeepAliveTicker } from './keep-alive';
import { type BudgetedStream, type SsePendingBudget } from './pending-budget';
import { openResponse, type SseSink } from './open-response';
import { releaseHttp } from './release-http';
import { keptRequest, type SseKeepRequest } from './kept-request';
import { bindResponse, type ResponseOwner, unbindResponse } from './response-binding';
import { type SseChannelListener, type SseChannelMember } from './sse-channel-listener.interface';
import { type SseClientInit } from './sse-client-init.interface';
import { type SseCloseReason } from './sse-close-reason.type';
import { type SseReplayStatus } from './sse-replay-status.type';
import { type SlowConsumerPolicy } from './slow-consumer-policy.type';
import { type StreamTally, UNTALLIED } from './stream-tally';

/** Told once when a stream ends, with why. */
export type SseCloseListener = (reason: SseCloseReason) => void;

const KEEPALIVE = Buffer.from(encodeComment('keepalive'));

/**
 * The inside of one `SseClient`, which the interceptor and the hub drive and users never
 * see: its response, its write path (a queue until `start()`, one batch per turn,
 * backpressure, the slow-consumer policy, the application's pending budget, keepalives)
 * and its end. Reached with `streamOf(client)` (`connection/internal.ts`).
 */
export class SseStream implements Flushable, KeepAliveStream, BudgetedStream, ResponseOwner {
  /** The `Last-Event-ID` the client reconnected with, if any. */
  readonly lastEventId: string | undefined;
  /** Whose stream it is (the route's `user` option), if anyone's. */
  readonly user: string | undefined;
  /** Bytes this stream may leave unread before it counts as a slow consumer. */
  readonly maxPendingBytes: number;
  /** The largest encoded event this stream takes, from any source (its route's limit, or the module's). */
  readonly maxEventBytes: number;
  /** Where the stream counts its events and bytes (its route's tally). */
  readonly tally: StreamTally;
  /** What the application-wide pending budget counts for this stream. */
  budgeted = 0;
  /** The keepalive ticker's count at this stream's last write. */
  keepAliveTick = 0;

  /**
   * Node's request and response: let go once the stream has started on a socket of its
   * own, taken out of Node's HTTP server (`releaseHttp`), which the stream then writes
   * to, watches and ends itself.
   */
  private res: ServerResponse | undefined;
  private req: IncomingMessage | undefined;
  /** The request as the framework gives it; once started, what `keepRequest` keeps of it. */
  request: unknown;
  /** What the request becomes once the stream has started; let go then. */
  private keepRequest: SseKeepRequest | undefined;
  /**
   * Where events are written once the stream has started: on HTTP/1.1 the socket itself,
   * since a close-delimited body is the socket's bytes as they are (see `open`); the
   * response otherwise.
   */
  private sink: SseSink;
  private readonly retry: number | undefined;
  /** Let go once the stream has started: Node holds the headers from then on. */
  private headers: OutgoingHttpHeaders | undefined;
  /** The jittered `retry:` sent on shutdown. */
  private readonly shutdownRetry: number | undefined;
  private readonly slowConsumer: SlowConsumerPolicy;
  private readonly resyncEvent: string;
  private readonly budget: SsePendingBudget | undefined;
  private queuedBytes = 0;
  /** Bytes the hub holds for this stream outside it (live messages waiting for its replay). */
  private reservedBytes = 0;
  /** Chunks written in this turn, sent together by `flush()`. */
  private batch: Array<string | Buffer> | undefined;
  private batchBytes = 0;
  /** The socket's unwritten bytes when this turn's batch started. */
  private backlog = 0;
  /** Events skipped under the `drop` policy since the socket last kept up; -1 when not dropping. */
  private dropped = -1;
  private lastSentId: string | undefined;
  private replayStatus: SseReplayStatus = 'none';
  /** The hub, following `join` / `leave` and told of the end before the close listeners. */
  private channelListener: SseChannelListener | undefined;
  private closeListeners: SseCloseListener[] | undefined;
  private queued: Array<string | Buffer> | undefined = [];
  private readonly keepAlive: KeepAliveTicker | undefined;
  private closeReason: SseCloseReason | undefined;
  private isStarted = false;
  private readonly reportError: ((message: string, error: unknown) => void) | undefined;
  /** When the stream started (`performance.now()`), for its duration. */
  private startedAt = 0;

  constructor(
    init: SseClientInit<unknown>,
    /** The `SseClient` this stream is the inside of: what the channel listener is told about. */
    private readonly client: SseChannelMember,
  ) {
    this.req = init.req;
    this.res = init.res;
    this.request = init.request;
    this.keepRequest = init.keepRequest;
    this.sink = init.res;
    if (init.keepAlive !== false && init.keepAlive > 0)
      this.keepAlive = KeepAliveTicker.every(init.keepAlive);
    this.retry = init.retry;
    this.headers = init.headers;
    this.lastEventId = init.lastEventId;
    this.user = init.user;
    if (init.shutdownRetry !== undefined) assertRetry(init.shutdownRetry);
    this.shutdownRetry = init.shutdownRetry;
    this.maxPendingBytes = init.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    this.slowConsumer = init.slowConsumer ?? DEFAULT_SLOW_CONSUMER;
    this.resyncEvent = init.resyncEvent ?? DEFAULT_RESYNC_EVENT;
    this.maxEventBytes = init.maxEventBytes ?? Infinity;
    this.reportError = init.reportError;
    this.budget = init.pendingBudget;
    this.budget?.add(this);
    this.tally = init.tally ?? UNTALLIED;
    bindResponse(this, init.req, init.res);
  }

  /** `true` once the stream has ended, for whatever reason. */
  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  /** Why the stream ended, once it has. */
  get reason(): SseCloseReason | undefined {
    return this.closeReason;
  }

  /** `true` once the response headers have been written. */
  get started(): boolean {
    return this.isStarted;
  }

  /** Bytes written that the socket has not taken yet (queued ones before the start, and any the hub holds). */
  get pendingBytes(): number {
    return this.reservedBytes + (this.queued ? this.queuedBytes : this.sink.writableLength + this.batchBytes);
  }

  /** What the client got of the events it missed while disconnected. */
  get replay(): SseReplayStatus {
    return this.replayStatus;
  }

  /** Records what the hub could replay. */
  setReplay(status: SseReplayStatus): void {
    this.replayStatus = status;
  }

  /** Lets the hub follow `join` / `leave`. */
  setChannelListener(listener: SseChannelListener | undefined): void {
    this.channelListener = listener;
  }

  /** The client joined `channel`: its listener indexes it (a closed one is not indexed again). */
  channelJoined(channel: string): void {
    if (!this.closed) this.channelListener?.channelJoined(this.client, channel);
  }

  /** The client left `channel`. */
  channelLeft(channel: string): void {
    this.channelListener?.channelLeft(this.client, channel);
  }

  /**
   * Writes an encoded chunk as it is: the path by which the hub sends the same bytes to
   * every recipient (`id` is the event id it carries, if any). Queued until `start()`.
   * A client with more than `maxPendingBytes` unread is a slow consumer: it is closed, or
   * its events are dropped until it catches up. Returns `false` when nothing was written.
   */
  write(chunk: string | Buffer, id?: string): boolean {
    if (this.closed) return false;
    if (this.queued) {
      // A stream still being set up (a slow onJoin) must not hoard the hub's messages either.
      if (this.reservedBytes + this.queuedBytes + chunk.length > this.maxPendingBytes) return this.overflow();
      this.queued.push(chunk);
      this.queuedBytes += chunk.length;
    } else {
      if (this.dropped >= 0) return this.overflow();
      // The socket's backlog is read once per turn, when the batch starts: it cannot shrink
      // before the flush, and reading it per write was a tenth of a burst's CPU on Express.
      if (!this.batch) this.backlog = this.sink.writableLength;
      const pending = this.backlog + this.batchBytes;
      // One chunk always goes through to an idle socket, however large.
      if (pending > 0 && pending + chunk.length > this.maxPendingBytes) return this.overflow();
      if (this.batch) this.batch.push(chunk);
      else {
        this.batch = [chunk];
        scheduleFlush(this);
      }
      this.batchBytes += chunk.length;
    }
    if (id !== undefined) this.lastSentId = id;
    // Last: over the application's budget, this or another slow stream may be shed now.
    this.budget?.grow(this, chunk.length);
    return true;
  }

  /**
   * The hub's path for an encoded event: refused past this stream's `maxEventBytes`
   * (`'too-large'`), in which case the client is told with a resync that it missed one,
   * rather than left to find out.
   */
  writeEvent(chunk: string | Buffer, id?: string): boolean | 'too-large' {
    if (this.closed) return false;
    if (exceedsBytes(chunk, this.maxEventBytes)) {
      this.resync(1);
      return 'too-large';
    }
    if (!this.write(chunk, id)) return false;
    this.tally.events++;
    return true;
  }

  /**
   * Counts `bytes` the hub holds for this stream while its replay is read, against
   * `maxPendingBytes` and the application's budget like bytes it was written. Past its
   * own limit the stream ends as a slow consumer: `false`.
   */
  reserve(bytes: number): boolean {
    if (this.closed) return false;
    if (this.pendingBytes + bytes > this.maxPendingBytes) {
      this.overflow();
      return false;
    }
    this.reservedBytes += bytes;
    this.budget?.grow(this, bytes);
    return !this.closed;
  }

  /** The hub lets go of bytes it held for this stream (and is about to write them). */
  unreserve(bytes: number): void {
    this.reservedBytes = Math.max(0, this.reservedBytes - bytes);
    if (!this.closed) this.budget?.settle(this, this.pendingBytes);
  }

  /**
   * Tells the client it missed events (`dropped` of them when known) with the
   * route's resync event, which carries no id: its `Last-Event-ID` stays on the last event it got.
   */
  resync(dropped?: number): void {
    if (this.write(encodeResync(this.resyncEvent, this.lastSentId ?? this.lastEventId, dropped)))
      this.tally.events++;
  }

  /**
   * The application's pending budget is exceeded and this stream is among the
   * slowest: its policy applies (`drop` stops taking events; `close`, or a stream that is
   * dropping already, ends).
   */
  shed(): void {
    if (this.closed) return;
    if (this.slowConsumer === 'drop' && this.isStarted && this.dropped < 0) this.startDropping();
    else this.end('slow-consumer');
  }

  /** Sends what this turn wrote as one write, not one per event. */
  flush(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    this.batchBytes = 0;
    if (!this.sink.destroyed) {
      this.keepAlive?.touch(this);
      const chunk = batch.length === 1 ? batch[0] : joinBatch(batch);
      try {
        this.sink.write(chunk);
      } catch (error) {
        // A stream that cannot be written to (an HTTP/2 stream reset under us) ends here, and alone.
        this.fail('A write failed', error);
        return;
      }
      this.tally.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    }
    this.budget?.settle(this, this.pendingBytes);
  }

  /**
   * Writes the headers, the `retry` field, `head` (what must come first, e.g. the
   * gateway's `onJoin` values) and whatever was queued, and starts the keepalive timer.
   * Does nothing once started or closed.
   */
  start(head = ''): void {
    if (!this.queued || this.closed) return;
    this.tryOpen(head);
    if (this.isStarted && !this.closed) this.release();
  }

  /**
   * Ends the stream once, for `reason`, and tells the channel listener, then the close
   * listeners. A stream that has not started yet still gets its 200 and what was queued
   * (so that `EventSource` reconnects rather than giving up), unless the client is gone or
   * the caller owes it an HTTP error (`error`).
   */
  end(reason: SseCloseReason): void {
    if (this.closeReason !== undefined) return;
    const wasStarted = this.isStarted;
    // A slow consumer's queue is what it could not take: not worth flushing.
    if (reason === 'slow-consumer') this.queued &&= [];
    if (this.queued && reason !== 'error' && reason !== 'client-disconnected' && !this.res?.destroyed)
      this.tryOpen('');
    // Opening failed, and ended the stream for that.
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    // Once per episode: a stream that is dropping events was counted when it began to.
    if (reason === 'slow-consumer' && this.dropped < 0) this.tally.slowConsumer(this.slowConsumer);
    this.queued = undefined;
    this.reservedBytes = 0;
    this.keepAlive?.delete(this);
    this.budget?.remove(this);
    if (this.req) unbindResponse(this, this.req);
    try {
      if (reason === 'slow-consumer' && wasStarted) this.cutOff();
      else {
        // What this turn wrote goes out before the end (a vanished client's is dropped with its socket).
        this.flush();
        // The shutdown retry goes out with the last chunk: one write, not two, times thousands.
        const last =
          reason === 'shutdown' && this.shutdownRetry !== undefined
            ? encodeRetry(this.shutdownRetry)
            : undefined;
        if (!this.res) this.endSocket(this.sink as Socket, last);
        else if (this.isStarted && !this.res.writableEnded) this.res.end(last);
      }
    } catch (error) {
      // The stream is over whatever its connection says; what follows must still run.
      this.reportError?.(`SSE client ${this.client.id}: ending its connection failed`, error);
      abortConnection(this.res, this.sink);
    }
    if (this.isStarted) this.tally.ended(reason, (performance.now() - this.startedAt) / 1000);
    this.channelListener?.clientClosed(this.client);
    const listeners = this.closeListeners;
    this.closeListeners = undefined;
    // Each listener on its own: one that throws must not keep the others (the limiter's release, onClose) from running.
    if (listeners) {
      for (const listener of listeners) {
        try {
          listener(reason);
        } catch (error) {
          this.reportError?.(`SSE client ${this.client.id}: a close listener threw`, error);
        }
      }
    }
  }

  /** Calls `listener` once when the stream ends (at once if it already has). */
  onClose(listener: SseCloseListener): void {
    if (this.closeReason !== undefined) listener(this.closeReason);
    else (this.closeListeners ??= []).push(listener);
  }

  /** Called by the keepalive ticker after `keepAlive` ms without a write. */
  onSilence(): void {
    // Unread keepalives are no use: a slow or dropping client gets none.
    if (this.dropped < 0 && this.pendingBytes === 0) this.write(KEEPALIVE);
  }

  /**
   * Drops a slow consumer's connection with what it has not read: ending it gracefully
   * would wait for a reader that does not read, holding its buffers (and, on HTTP/2,
   * the stream) until a timeout. HTTP/1.1 gets a reset, HTTP/2 an RST_STREAM.
   */
  private cutOff(): void {
    this.batch = undefined;
    this.batchBytes = 0;
    abortConnection(this.res, this.sink);
  }

  private fail(what: string, error: unknown): void {
    this.reportError?.(`SSE client ${this.client.id}: ${what}; the stream is closed`, error);
    this.end('error');
  }

  private overflow(): false {
    if (this.slowConsumer === 'close' || !this.started) {
      this.end('slow-consumer');
      return false;
    }
    if (this.dropped < 0) this.startDropping();
    this.dropped++;
    return false;
  }

  private startDropping(): void {
    this.dropped = 0;
    this.tally.slowConsumer('drop');
    // In the socket's buffers, batched bytes count for 'drain'.
    this.flush();
    if (this.closed) return;
    // Socket buffers past the high-water mark always end with 'drain'; a smaller limit may not.
    if (this.sink.writableNeedDrain) this.sink.once('drain', () => this.caughtUp());
    else setImmediate(() => this.caughtUp());
  }

  private caughtUp(): void {
    if (this.closed) return;
    const dropped = this.dropped;
    this.dropped = -1;
    this.resync(dropped);
  }

  /**
   * A started HTTP/1.1 stream writes to its socket: the socket is taken out of Node's HTTP
   * server, and the stream lets go of Node's request and response (and with them the
   * framework's), as Node does for `upgrade`. HTTP/2, and a response that waits behind
   * another on its connection, keep them.
   */
  private release(): void {
    const socket = this.sink;
    if (!(socket instanceof Socket) || !releaseHttp(this.req!, this.res!, socket, this)) return;
    this.req = undefined;
    this.res = undefined;
  }

  /**
   * Ends a released socket: the event stream's body ends with its connection, which is
   * destroyed once it has sent everything (as Node does for a response that closes its
   * connection). A reader that does not take the rest is dropped by the server's
   * `close()` (`releaseHttp`) or its `timeout`, as Node would drop it.
   */
  private endSocket(socket: Socket, last: string | undefined): void {
    if (socket.destroyed) return;
    if (last === undefined) socket.end();
    else socket.end(last);
    socket.once('finish', destroySocket);
  }

  /** Opens the stream, or ends it (`error`) if its response cannot take the headers any more. */
  private tryOpen(head: string): void {
    try {
      this.open(head);
    } catch (error) {
      this.queued = undefined;
      if (!this.closed) this.fail('Opening the stream failed', error);
    }
  }

  private open(head: string): void {
    const queued = this.queued ?? [];
    this.queued = undefined;
    this.queuedBytes = 0;
    this.isStarted = true;
    this.startedAt = performance.now();
    this.tally.started();
    this.sink = openResponse(this.req!, this.res!, this.headers);
    this.headers = undefined;
    this.request = keptRequest(this.request, this.keepRequest);
    this.keepRequest = undefined;
    // What was queued is about to be written again, as one chunk: counted once.
    this.budget?.settle(this, this.reservedBytes);
    let first = this.retry === undefined ? head : encodeRetry(this.retry) + head;
    for (const chunk of queued) first += chunk.toString();
    if (first) this.write(first);
    this.keepAlive?.add(this);
  }
}

function destroySocket(this: Socket): void {
  this.destroy();
}
