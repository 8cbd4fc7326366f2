import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { DEFAULT_MAX_PENDING_BYTES, type SseClientInit } from './sse-client-init.interface';
import { assertRetry, encodeComment, encodeEvent, encodeRetry, toSseEvent } from '../wire';
import { type Flushable, joinBatch, scheduleFlush } from './flush-scheduler';
import { type KeepAliveStream, KeepAliveTicker } from './keep-alive';
import { type SseCloseReason } from './sse-close-reason.type';
import { SseClosedError } from './sse-closed.error';
import { SseEventTooLargeError } from './sse-event-too-large.error';
import { type SseReplayStatus } from './sse-replay-status.type';
import { type SlowConsumerPolicy } from './slow-consumer-policy.type';
import { sseHeaders } from './sse-headers';
import { type SseSendResult } from './sse-send-result.type';

/** Told when a client joins or leaves a channel, and when it closes, so the hub can index it. */
export interface SseChannelListener {
  channelJoined(client: SseClient, channel: string): void;
  channelLeft(client: SseClient, channel: string): void;
  /** Called once, before the close listeners, so that they see the client gone. */
  clientClosed(client: SseClient): void;
}

type CloseListener = (reason: SseCloseReason) => void;

const NO_CHANNELS: ReadonlySet<string> = new Set();

/** The client a response belongs to: its listeners are shared functions, not closures per client. */
const OWNER = Symbol('nestjs-sse-hub:owner');

function onResponseClose(this: ServerResponse): void {
  // 'close' fires as soon as the socket goes, not at the next write.
  (this as any)[OWNER].end('client-disconnected');
}

function onResponseError(this: ServerResponse): void {
  // A write racing a reset socket reports here; unhandled, it would crash the process.
  (this as any)[OWNER].end('error');
}

/**
 * `randomUUID()` builds its string from pieces, which V8 keeps as a rope of a dozen
 * strings for as long as the id lives; a copy is one flat string (~400 bytes less per client).
 */
function flatUuid(): string {
  return Buffer.from(randomUUID(), 'latin1').toString('latin1');
}

/** What `ServerResponse` and `net.Socket` share that a client writes through. */
type Sink = Pick<Writable, 'write' | 'once' | 'destroyed' | 'writableLength' | 'writableNeedDrain'>;

const KEEPALIVE = Buffer.from(encodeComment('keepalive'));

/**
 * An event stream has no length and ends with its connection, so on HTTP/1.1 its body is
 * delimited by the close (RFC 9112 §6.3, rule 8) rather than chunked: each write is then
 * one plain socket write, not a corked writev of size line, data and CRLF. Measured on a
 * 10,000-client burst, raw `http` goes from ~320,000 to ~770,000 deliveries/s. Removing
 * both headers is how Node is told; it then ends the connection with the response, whose
 * `end()` still goes through Node (after our writes: they share the socket's queue).
 */
function closeDelimited(res: ServerResponse): void {
  res.removeHeader('transfer-encoding');
  res.removeHeader('content-length');
}

/**
 * One open event stream: the generator of DatastarEx's `Datastar.SSE` (`send_event`,
 * `send_event!`, `close`, `closed?`) on Node's `ServerResponse`. Writes before `start()`
 * are queued so that a handler can send while the route is still being set up.
 *
 * @publicApi
 */
export class SseClient<TRequest = any> implements Flushable, KeepAliveStream {
  /** Random and unguessable: safe to hand to the browser and use with `SseHub.sendTo`. */
  readonly id: string = flatUuid();
  readonly request: TRequest;
  /** The `Last-Event-ID` the client reconnected with, if any. */
  readonly lastEventId: string | undefined;

  private readonly res: ServerResponse;
  /**
   * Where events are written once the stream has started: on HTTP/1.1 the socket itself,
   * since a close-delimited body is the socket's bytes as they are (see `open`); the
   * response otherwise.
   */
  private sink: Sink;
  private readonly req: IncomingMessage;
  private readonly retry: number | undefined;
  /** Let go once the stream has started: Node holds the headers from then on. */
  private headers: OutgoingHttpHeaders | undefined;
  /** The jittered `retry:` sent on shutdown. */
  private readonly shutdownRetry: number | undefined;
  private readonly maxPendingBytes: number;
  private readonly slowConsumer: SlowConsumerPolicy;
  private readonly resyncEvent: string;
  private readonly maxEventBytes: number;
  private queuedBytes = 0;
  /** Chunks written in this turn, sent together by `flush()`. */
  private batch: Array<string | Buffer> | undefined;
  private batchBytes = 0;
  /** The socket's unwritten bytes when this turn's batch started. */
  private backlog = 0;
  /** Events skipped under the `drop` policy since the socket last kept up; -1 when not dropping. */
  private dropped = -1;
  private lastSentId: string | undefined;
  private replayStatus: SseReplayStatus = 'none';
  /** Made on the first join: many streams never join a channel. */
  private joined: Set<string> | undefined;
  private channelListener: SseChannelListener | undefined;
  private closeListeners: CloseListener[] | undefined;
  private queued: Array<string | Buffer> | undefined = [];
  private readonly keepAlive: KeepAliveTicker | undefined;
  /** @internal The keepalive ticker's count at this stream's last write. */
  keepAliveTick = 0;
  private closeReason: SseCloseReason | undefined;
  private isStarted = false;

  constructor(init: SseClientInit<TRequest>) {
    this.request = init.request;
    this.req = init.req;
    this.res = init.res;
    this.sink = init.res;
    if (init.keepAlive !== false && init.keepAlive > 0) this.keepAlive = KeepAliveTicker.every(init.keepAlive);
    this.retry = init.retry;
    this.headers = init.headers;
    this.lastEventId = init.lastEventId;
    if (init.shutdownRetry !== undefined) assertRetry(init.shutdownRetry);
    this.shutdownRetry = init.shutdownRetry;
    this.maxPendingBytes = init.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    this.slowConsumer = init.slowConsumer ?? 'close';
    this.resyncEvent = init.resyncEvent ?? 'resync';
    this.maxEventBytes = init.maxEventBytes ?? Infinity;
    (this.res as any)[OWNER] = this;
    this.res.on('close', onResponseClose);
    this.res.on('error', onResponseError);
  }

  /** The channels this client receives broadcasts of. */
  get channels(): ReadonlySet<string> {
    return this.joined ?? NO_CHANNELS;
  }

  /** `true` once the stream has ended, for whatever reason. */
  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  /** Why the stream ended, once it has. */
  get reason(): SseCloseReason | undefined {
    return this.closeReason;
  }

  /** What the client got of the events it missed while disconnected. */
  get replay(): SseReplayStatus {
    return this.replayStatus;
  }

  /** Records what the hub could replay. */
  setReplay(status: SseReplayStatus): void {
    this.replayStatus = status;
  }

  /** Bytes written to this client that its socket has not taken yet (queued ones before the start). */
  get pendingBytes(): number {
    return this.queued ? this.queuedBytes : this.sink.writableLength + this.batchBytes;
  }

  /** `true` once the response headers have been written. */
  get started(): boolean {
    return this.isStarted;
  }

  /** Sends a value under the rules of `toSseEvent` (string → data, object → JSON, ...). */
  send(value: unknown): SseSendResult {
    if (this.closed) return { ok: false, error: new SseClosedError(this.id) };
    try {
      const event = toSseEvent(value);
      if (event) this.write(this.limited(encodeEvent(event)));
      return { ok: true };
    } catch (error) {
      return { ok: false, error: error as Error };
    }
  }

  /**
   * Sends one event: `dataLines` is a line or a list of lines (each may itself hold
   * line breaks). Returns `{ ok: false, error }` instead of throwing.
   */
  sendEvent(eventType: string | undefined, dataLines: string | readonly string[], options: { id?: string; retry?: number } = {}): SseSendResult {
    if (this.closed) return { ok: false, error: new SseClosedError(this.id) };
    try {
      const data = typeof dataLines === 'string' ? dataLines : dataLines.join('\n');
      this.write(this.limited(encodeEvent({ event: eventType, data, id: options.id, retry: options.retry })));
      return { ok: true };
    } catch (error) {
      return { ok: false, error: error as Error };
    }
  }

  /** Like `sendEvent`, but throws `SseClosedError` or `SseEncodeError`. */
  sendEventOrThrow(eventType: string | undefined, dataLines: string | readonly string[], options: { id?: string; retry?: number } = {}): this {
    const result = this.sendEvent(eventType, dataLines, options);
    if (!result.ok) throw result.error;
    return this;
  }

  /** Sends a comment, which clients ignore. */
  comment(text: string): SseSendResult {
    if (this.closed) return { ok: false, error: new SseClosedError(this.id) };
    try {
      this.write(this.limited(encodeComment(text)));
      return { ok: true };
    } catch (error) {
      return { ok: false, error: error as Error };
    }
  }

  /** Receives the hub's broadcasts to `channel` from now on. */
  join(channel: string): void {
    this.joined ??= new Set();
    if (this.joined.has(channel)) return;
    this.joined.add(channel);
    if (!this.closed) this.channelListener?.channelJoined(this, channel);
  }

  /** Stops receiving the hub's broadcasts to `channel`. */
  leave(channel: string): void {
    if (!this.joined?.delete(channel)) return;
    this.channelListener?.channelLeft(this, channel);
  }

  /** Ends the stream from the server side (reason `server-closed`). */
  close(): void {
    this.end('server-closed');
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
      this.queued.push(chunk);
      this.queuedBytes += chunk.length;
      // A stream still being set up (a slow onJoin) must not hoard the hub's messages either.
      if (this.queuedBytes > this.maxPendingBytes) return this.overflow();
      if (id !== undefined) this.lastSentId = id;
      return true;
    }
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
    if (id !== undefined) this.lastSentId = id;
    return true;
  }

  /** Sends what this turn wrote as one write, not one per event. */
  flush(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    this.batchBytes = 0;
    if (this.sink.destroyed) return;
    this.keepAlive?.touch(this);
    this.sink.write(batch.length === 1 ? batch[0] : joinBatch(batch));
  }

  /**
   * Writes the headers, the `retry` field, `head` (what must come first, e.g. the
   * gateway's `onJoin` values) and whatever was queued, and starts the keepalive timer.
   * Does nothing once started or closed.
   */
  start(head = ''): void {
    if (this.queued && !this.closed) this.open(head);
  }

  /**
   * Ends the stream once, for `reason`, and tells the close listeners. A stream that has
   * not started yet still gets its 200 and what was queued (so that `EventSource`
   * reconnects rather than giving up), unless the client is gone or the caller owes it
   * an HTTP error (`error`).
   */
  end(reason: SseCloseReason): void {
    if (this.closeReason !== undefined) return;
    const wasStarted = this.isStarted;
    // A slow consumer's queue is what it could not take: not worth flushing.
    if (reason === 'slow-consumer') this.queued &&= [];
    if (this.queued && reason !== 'error' && reason !== 'client-disconnected' && !this.res.destroyed) this.open('');
    this.closeReason = reason;
    this.queued = undefined;
    this.keepAlive?.delete(this);
    if (reason === 'slow-consumer' && wasStarted) this.cutOff();
    else {
      // What this turn wrote goes out before the end (a vanished client's is dropped with its socket).
      this.flush();
      // The shutdown retry goes out with the last chunk: one write, not two, times thousands.
      if (this.isStarted && !this.res.writableEnded) this.res.end(reason === 'shutdown' && this.shutdownRetry !== undefined ? encodeRetry(this.shutdownRetry) : undefined);
    }
    this.channelListener?.clientClosed(this);
    const listeners = this.closeListeners;
    this.closeListeners = undefined;
    if (listeners) for (const listener of listeners) listener(reason);
  }

  /** Calls `listener` once when the stream ends (at once if it already has). */
  onClose(listener: CloseListener): void {
    if (this.closeReason !== undefined) listener(this.closeReason);
    else (this.closeListeners ??= []).push(listener);
  }

  /** Lets the hub follow `join` / `leave`. */
  setChannelListener(listener: SseChannelListener | undefined): void {
    this.channelListener = listener;
  }

  private limited<T extends string>(encoded: T): T {
    const bytes = Buffer.byteLength(encoded);
    if (bytes > this.maxEventBytes) throw new SseEventTooLargeError(bytes, this.maxEventBytes);
    return encoded;
  }

  /**
   * Drops a slow consumer's connection with what it has not read: ending it gracefully
   * would wait for a reader that does not read, holding its buffers (and, on HTTP/2,
   * the stream) until a timeout. HTTP/1.1 gets a reset, HTTP/2 an RST_STREAM.
   */
  private cutOff(): void {
    this.batch = undefined;
    this.batchBytes = 0;
    if (this.sink instanceof Socket) this.sink.resetAndDestroy();
    else this.res.destroy();
  }

  private overflow(): false {
    if (this.slowConsumer === 'close' || !this.started) {
      this.end('slow-consumer');
      return false;
    }
    if (this.dropped < 0) {
      this.dropped = 0;
      // In the socket's buffers, batched bytes count for 'drain'.
      this.flush();
      // Socket buffers past the high-water mark always end with 'drain'; a smaller limit may not.
      if (this.sink.writableNeedDrain) this.sink.once('drain', () => this.caughtUp());
      else setImmediate(() => this.caughtUp());
    }
    this.dropped++;
    return false;
  }

  private caughtUp(): void {
    if (this.closed) return;
    const dropped = this.dropped;
    this.dropped = -1;
    this.write(encodeEvent({ event: this.resyncEvent, data: JSON.stringify({ lastEventId: this.lastSentId ?? this.lastEventId ?? null, dropped }) }));
  }

  private open(head: string): void {
    const queued = this.queued ?? [];
    this.queued = undefined;
    this.queuedBytes = 0;
    this.isStarted = true;
    const http1 = this.req.httpVersionMajor === 1;
    if (http1) closeDelimited(this.res);
    this.res.writeHead(200, sseHeaders(this.req.httpVersionMajor, this.headers));
    this.headers = undefined;
    this.res.flushHeaders();
    const socket = this.res.socket;
    // Only once the headers have reached the socket (not held back behind a pipelined
    // response, which the response would buffer itself) may events bypass the response.
    if (http1 && socket && this.res.writableLength === socket.writableLength) this.sink = socket;
    let first = this.retry === undefined ? head : encodeRetry(this.retry) + head;
    for (const chunk of queued) first += chunk.toString();
    if (first) this.write(first);
    this.keepAlive?.add(this);
  }

  /** @internal Called by the keepalive ticker after `keepAlive` ms without a write. */
  onSilence(): void {
    // Unread keepalives are no use: a slow or dropping client gets none.
    if (this.dropped < 0 && this.pendingBytes === 0) this.write(KEEPALIVE);
  }
}
