import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { encodeComment, encodeEvent, encodeRetry, toSseEvent } from '../wire';
import { SseCloseReason } from './sse-close-reason.type';
import { SseClosedError } from './sse-closed.error';
import { SseReplayStatus } from './sse-replay-status.type';
import { sseHeaders } from './sse-headers';
import { SseSendResult } from './sse-send-result.type';

/** What opens a stream: the raw Node objects and the options in force for it. */
export interface SseClientInit<TRequest = unknown> {
  /** The request as the framework gives it (Express `Request`, Fastify `FastifyRequest`). */
  request: TRequest;
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
  /** Sent as `retry:` before the stream ends for a shutdown: jittered, so that reconnects spread out. */
  shutdownRetry?: number;
}

/** Told when a client joins or leaves a channel, so the hub can index it. */
export interface SseChannelListener {
  channelJoined(client: SseClient, channel: string): void;
  channelLeft(client: SseClient, channel: string): void;
}

type CloseListener = (reason: SseCloseReason) => void;

const KEEPALIVE = Buffer.from(encodeComment('keepalive'));

/**
 * One open event stream: the generator of DatastarEx's `Datastar.SSE` (`send_event`,
 * `send_event!`, `close`, `closed?`) on Node's `ServerResponse`. Writes before `start()`
 * are queued so that a handler can send while the route is still being set up.
 *
 * @publicApi
 */
export class SseClient<TRequest = any> {
  /** Random and unguessable: safe to hand to the browser and use with `SseHub.sendTo`. */
  readonly id: string = randomUUID();
  readonly request: TRequest;
  /** The `Last-Event-ID` the client reconnected with, if any. */
  readonly lastEventId: string | undefined;

  private readonly res: ServerResponse;
  private readonly req: IncomingMessage;
  private readonly keepAliveMs: number | false;
  private readonly retry: number | undefined;
  private readonly headers: OutgoingHttpHeaders | undefined;
  private readonly shutdownRetry: number | undefined;
  private replayStatus: SseReplayStatus = 'none';
  private readonly joined = new Set<string>();
  private channelListener: SseChannelListener | undefined;
  private closeListeners: CloseListener[] = [];
  private queued: Array<string | Buffer> | undefined = [];
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private lastWriteAt = 0;
  private closeReason: SseCloseReason | undefined;
  private isStarted = false;

  constructor(init: SseClientInit<TRequest>) {
    this.request = init.request;
    this.req = init.req;
    this.res = init.res;
    this.keepAliveMs = init.keepAlive;
    this.retry = init.retry;
    this.headers = init.headers;
    this.lastEventId = init.lastEventId;
    this.shutdownRetry = init.shutdownRetry;
    // 'close' fires as soon as the socket goes, not at the next write.
    this.res.once('close', () => this.end('client-disconnected'));
    // A write racing a reset socket reports here; unhandled, it would crash the process.
    this.res.on('error', () => this.end('error'));
  }

  /** The channels this client receives broadcasts of. */
  get channels(): ReadonlySet<string> {
    return this.joined;
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

  /** `true` once the response headers have been written. */
  get started(): boolean {
    return this.isStarted;
  }

  /** Sends a value under the rules of `toSseEvent` (string → data, object → JSON, ...). */
  send(value: unknown): SseSendResult {
    if (this.closed) return { ok: false, error: new SseClosedError(this.id) };
    try {
      const event = toSseEvent(value);
      if (event) this.write(encodeEvent(event));
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
      this.write(encodeEvent({ event: eventType, data, id: options.id, retry: options.retry }));
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
    this.write(encodeComment(text));
    return { ok: true };
  }

  /** Receives the hub's broadcasts to `channel` from now on. */
  join(channel: string): void {
    if (this.joined.has(channel)) return;
    this.joined.add(channel);
    if (!this.closed) this.channelListener?.channelJoined(this, channel);
  }

  /** Stops receiving the hub's broadcasts to `channel`. */
  leave(channel: string): void {
    if (!this.joined.delete(channel)) return;
    this.channelListener?.channelLeft(this, channel);
  }

  /** Ends the stream from the server side (reason `server-closed`). */
  close(): void {
    this.end('server-closed');
  }

  /**
   * Writes an encoded chunk as it is: the path by which the hub sends the same bytes to
   * every recipient. Queued until `start()`. Returns `false` once closed.
   */
  write(chunk: string | Buffer): boolean {
    if (this.closed) return false;
    if (this.queued) {
      this.queued.push(chunk);
      return true;
    }
    this.lastWriteAt = Date.now();
    this.res.write(chunk);
    return true;
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
    if (this.queued && reason !== 'error' && reason !== 'client-disconnected' && !this.res.destroyed) this.open('');
    if (reason === 'shutdown' && this.shutdownRetry !== undefined) this.write(encodeRetry(this.shutdownRetry));
    this.closeReason = reason;
    this.queued = undefined;
    if (this.keepAliveTimer) clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
    if (this.isStarted && !this.res.writableEnded) this.res.end();
    const listeners = this.closeListeners;
    this.closeListeners = [];
    for (const listener of listeners) listener(reason);
  }

  /** Calls `listener` once when the stream ends (at once if it already has). */
  onClose(listener: CloseListener): void {
    if (this.closeReason !== undefined) listener(this.closeReason);
    else this.closeListeners.push(listener);
  }

  /** Lets the hub follow `join` / `leave`. */
  setChannelListener(listener: SseChannelListener | undefined): void {
    this.channelListener = listener;
  }

  private open(head: string): void {
    const queued = this.queued ?? [];
    this.queued = undefined;
    this.isStarted = true;
    this.res.writeHead(200, sseHeaders(this.req.httpVersionMajor, this.headers));
    let first = this.retry === undefined ? head : encodeRetry(this.retry) + head;
    for (const chunk of queued) first += chunk.toString();
    if (first) this.write(first);
    else this.res.flushHeaders();
    if (this.keepAliveMs !== false && this.keepAliveMs > 0) {
      this.lastWriteAt = Date.now();
      this.scheduleKeepAlive(this.keepAliveMs);
    }
  }

  // One timer per client, re-armed lazily: a write only records its time, so the
  // broadcast path never touches a timer.
  private scheduleKeepAlive(delay: number): void {
    // Not unref'd: the server holds the process open anyway, and a leaked timer should show.
    this.keepAliveTimer = setTimeout(() => this.onKeepAliveTimer(), delay);
  }

  private onKeepAliveTimer(): void {
    if (this.closed || this.keepAliveMs === false) return;
    const silent = Date.now() - this.lastWriteAt;
    if (silent >= this.keepAliveMs) {
      this.write(KEEPALIVE);
      this.scheduleKeepAlive(this.keepAliveMs);
    } else {
      this.scheduleKeepAlive(this.keepAliveMs - silent);
    }
  }
}
