import { randomUUID } from 'node:crypto';
import { encodeComment, encodeEvent, type SseEvent, toSseEvent } from '../wire';
import { checkChannelName } from './sse-channel-name.error';
import { type SseClientInit } from './sse-client-init.interface';
import { type SseCloseReason } from './sse-close-reason.type';
import { SseClosedError } from './sse-closed.error';
import { type SseReplayStatus } from './sse-replay-status.type';
import { type SseSendResult } from './sse-send-result.type';
import { SseStream } from './sse-stream';

const NO_CHANNELS: ReadonlySet<string> = new Set();

/**
 * `randomUUID()` builds its string from pieces, which V8 keeps as a rope of a dozen
 * strings for as long as the id lives; a copy is one flat string (~400 bytes less per client).
 */
function flatUuid(): string {
  return Buffer.from(randomUUID(), 'latin1').toString('latin1');
}

/** Turns what a sender gave into one encoded chunk (`undefined`: nothing to send), or throws why it cannot. */
type Encoder<T> = (input: T, maxEventBytes: number) => string | undefined;

/** `send`: by the rules of `toSseEvent` (string → data, object → JSON, ...). */
const encodeValue: Encoder<unknown> = (value, maxEventBytes) => {
  const event = toSseEvent(value);
  return event ? encodeEvent(event, maxEventBytes) : undefined;
};

/** `sendEvent`: its data as one line or a list of lines. */
type EventLines = Omit<SseEvent, 'data'> & { data: string | readonly string[] };

const encodeLines: Encoder<EventLines> = (event, maxEventBytes) => {
  // Joined in place (the object is sendEvent's own): one object per event, as before.
  if (typeof event.data !== 'string') event.data = event.data.join('\n');
  return encodeEvent(event as SseEvent, maxEventBytes);
};

const encodeText: Encoder<string> = (text, maxEventBytes) => encodeComment(text, maxEventBytes);

let streamOfClient: (client: SseClient) => SseStream;

/**
 * One open event stream: the generator of DatastarEx's `Datastar.SSE` (`send_event`,
 * `send_event!`, `close`, `closed?`) on Node's `ServerResponse`. Writes before the stream
 * starts are queued so that a handler can send while the route is still being set up.
 *
 * @publicApi
 */
export class SseClient<TRequest = any> {
  /** Random and unguessable: safe to hand to the browser and use with `SseHub.sendTo`. */
  readonly id: string = flatUuid();
  /** Made on the first join: many streams never join a channel. */
  #joined: Set<string> | undefined;
  /** The response, the write path and the end: the interceptor's and the hub's side of this client. */
  readonly #stream: SseStream;

  static {
    streamOfClient = (client) => client.#stream;
  }

  /** @hidden Made by the library for each stream that reaches its handler; apps are handed one. */
  constructor(init: SseClientInit<TRequest>) {
    this.#stream = new SseStream(init, this);
  }

  /**
   * The request as the framework gives it (Express `Request`, Fastify `FastifyRequest`)
   * while the stream is set up (guards, the handler, `channels`, `onJoin`). Once the stream
   * has started, what the route's `keepRequest` keeps of it: by default a plain object with
   * its `method`, `url`, `originalUrl`, `headers`, `params`, `query` and `user`, so that
   * the framework's objects need not live as long as the stream.
   */
  get request(): TRequest {
    return this.#stream.request as TRequest;
  }

  /** The `Last-Event-ID` the client reconnected with, if any. */
  get lastEventId(): string | undefined {
    return this.#stream.lastEventId;
  }

  /**
   * Whose stream this is: what the route's `user` option gave for the request (after the
   * app's guard, typically `req.user.id`), or `undefined`. `SseHub.broadcast({ users })`,
   * `closeUser` and `presence({ user })` find the stream by it.
   */
  get user(): string | undefined {
    return this.#stream.user;
  }

  /** The channels this client receives broadcasts of. */
  get channels(): ReadonlySet<string> {
    return this.#joined ?? NO_CHANNELS;
  }

  /** `true` once the stream has ended, for whatever reason. */
  get closed(): boolean {
    return this.#stream.closed;
  }

  /** Why the stream ended, once it has. */
  get reason(): SseCloseReason | undefined {
    return this.#stream.reason;
  }

  /** What the client got of the events it missed while disconnected. */
  get replay(): SseReplayStatus {
    return this.#stream.replay;
  }

  /**
   * Bytes written to this client that its socket has not taken yet (queued ones before
   * the start, and any the hub holds for it).
   */
  get pendingBytes(): number {
    return this.#stream.pendingBytes;
  }

  /** Sends a value under the rules of `toSseEvent` (string → data, object → JSON, ...). */
  send(value: unknown): SseSendResult {
    return this.#attempt(encodeValue, value, true);
  }

  /**
   * Sends one event: `dataLines` is a line or a list of lines (each may itself hold
   * line breaks). Returns `{ ok: false, error }` instead of throwing.
   */
  sendEvent(
    eventType: string | undefined,
    dataLines: string | readonly string[],
    options: { id?: string; retry?: number } = {},
  ): SseSendResult {
    const lines = { event: eventType, data: dataLines, id: options.id, retry: options.retry };
    return this.#attempt(encodeLines, lines, true);
  }

  /** Like `sendEvent`, but throws `SseClosedError` or `SseEncodeError`. */
  sendEventOrThrow(
    eventType: string | undefined,
    dataLines: string | readonly string[],
    options: { id?: string; retry?: number } = {},
  ): this {
    const result = this.sendEvent(eventType, dataLines, options);
    if (!result.ok) throw result.error;
    return this;
  }

  /** Sends a comment, which clients ignore. */
  comment(text: string): SseSendResult {
    return this.#attempt(encodeText, text, false);
  }

  /**
   * Receives the hub's broadcasts to `channel` from now on; throws `SseChannelNameError`
   * for a name no transport can store.
   */
  join(channel: string): void {
    checkChannelName(channel);
    this.#joined ??= new Set();
    if (this.#joined.has(channel)) return;
    this.#joined.add(channel);
    this.#stream.channelJoined(channel);
  }

  /** Stops receiving the hub's broadcasts to `channel`. */
  leave(channel: string): void {
    if (!this.#joined?.delete(channel)) return;
    this.#stream.channelLeft(channel);
  }

  /** Ends the stream from the server side (reason `server-closed`). */
  close(): void {
    this.#stream.end('server-closed');
  }

  /** Calls `listener` once when the stream ends (at once if it already has). */
  onClose(listener: (reason: SseCloseReason) => void): void {
    this.#stream.onClose(listener);
  }

  /**
   * The one guard of `send`, `sendEvent` and `comment`: nothing is written to a closed
   * stream (`SseClosedError`), and what cannot be encoded is returned as the error, not
   * thrown. Before the stream starts, the chunk is queued.
   */
  #attempt<T>(encode: Encoder<T>, input: T, isEvent: boolean): SseSendResult {
    const stream = this.#stream;
    if (stream.closed) return { ok: false, error: new SseClosedError(this.id) };
    try {
      const chunk = encode(input, stream.maxEventBytes);
      if (chunk !== undefined && stream.write(chunk) && isEvent) stream.tally.events++;
      return { ok: true };
    } catch (error) {
      return { ok: false, error: error as Error };
    }
  }
}

/**
 * The inside of `client` (its response, write path and end), for the interceptor and the
 * hub: not a member of `SseClient`, and exported only from `connection/internal.ts`.
 */
export function streamOf(client: SseClient): SseStream {
  return streamOfClient(client);
}
