import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { IncomingHttpHeaders as Http2Headers } from 'node:http2';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { createParser } from 'eventsource-parser';
import { resetSocket } from '../connection/reset-socket';
import { type SseTestEvent, type SseTestMessage } from './sse-test-message.type';

/**
 * A response read by `SseTestStream` that is not an HTTP/1.1 `IncomingMessage` (an
 * HTTP/2 stream, say): its body, its status and headers, and how to drop it.
 *
 * @publicApi
 */
export interface SseTestSource {
  body: Readable;
  statusCode: number;
  headers: IncomingHttpHeaders | Http2Headers;
  close(): void;
}

function isIncomingMessage(response: IncomingMessage | SseTestSource): response is IncomingMessage {
  return !('body' in response && 'close' in response);
}

/**
 * One stream opened by `openSseStream`, read with a real parser (`eventsource-parser`).
 * Every wait (`next`, `nextEvent`, `nextComment`, `take`, `closed`) rejects `timeout` ms after
 * it was called, however many other messages pass meanwhile, or as soon as the stream
 * ends with nothing left.
 *
 * @publicApi
 */
export class SseTestStream {
  /** Everything received so far, in order. */
  readonly received: SseTestMessage[] = [];
  private cursor = 0;
  private rawBody = '';
  private isEnded = false;
  private wake: (() => void) | undefined;
  private readonly endedPromise: Promise<void>;

  private readonly readable: Readable;
  private readonly source: SseTestSource | undefined;

  /** @hidden Made by `openSseStream` (and the library's own tests, over HTTP/2). */
  constructor(
    private readonly response: IncomingMessage | SseTestSource,
    private readonly timeout: number,
  ) {
    this.source = isIncomingMessage(response) ? undefined : response;
    const body = (this.readable = isIncomingMessage(response) ? response : response.body);
    const parser = createParser({
      onEvent: ({ event, id, data }) => this.push({ type: 'event', event, id, data }),
      onComment: (comment) => this.push({ type: 'comment', comment }),
      onRetry: (retry) => this.push({ type: 'retry', retry }),
    });
    body.setEncoding('utf8');
    body.on('data', (chunk: string) => {
      this.rawBody += chunk;
      parser.feed(chunk);
    });
    this.endedPromise = new Promise((resolve) => {
      const end = () => {
        this.isEnded = true;
        this.notify();
        resolve();
      };
      body.once('end', end);
      body.once('close', end);
      body.once('error', end);
    });
  }

  /** The HTTP status. */
  get status(): number {
    return this.response.statusCode ?? 0;
  }

  /** The response headers, names in lower case. */
  get headers(): IncomingHttpHeaders {
    return this.response.headers as IncomingHttpHeaders;
  }

  /** `true` once the server ended the stream (or it was closed). */
  get ended(): boolean {
    return this.isEnded;
  }

  /** The raw body received so far: the wire bytes, or an error response's JSON. */
  get body(): string {
    return this.rawBody;
  }

  /** The next message of any kind. Rejects after `timeout` ms from this call. */
  next(): Promise<SseTestMessage> {
    return this.nextBefore(Date.now() + this.timeout);
  }

  /** The next event, passing over comments and `retry` fields; one deadline for the whole wait. */
  async nextEvent(): Promise<SseTestEvent> {
    return this.nextEventBefore(Date.now() + this.timeout);
  }

  /** The next comment, passing over events; one deadline for the whole wait, however many events pass meanwhile. */
  async nextComment(): Promise<string> {
    const deadline = Date.now() + this.timeout;
    for (;;) {
      const message = await this.nextBefore(deadline);
      if (message.type === 'comment') return message.comment;
    }
  }

  /** The next `count` events, all within `timeout` ms of this call. */
  async take(count: number): Promise<SseTestEvent[]> {
    const deadline = Date.now() + this.timeout;
    const events: SseTestEvent[] = [];
    while (events.length < count) events.push(await this.nextEventBefore(deadline));
    return events;
  }

  /** Resolves when the server ends the stream; rejects after `timeout` ms. */
  async closed(): Promise<void> {
    await this.waitFor(this.endedPromise, 'end');
  }

  /** Reads events until the stream ends. */
  async *[Symbol.asyncIterator](): AsyncGenerator<SseTestEvent> {
    for (;;) {
      try {
        yield await this.nextEvent();
      } catch (error) {
        if (this.isEnded && this.cursor >= this.received.length) return;
        throw error;
      }
    }
  }

  /** Stops reading, as a slow client would: the server's writes back up behind TCP. */
  pause(): void {
    this.readable.pause();
  }

  /** Reads again after `pause()`. */
  resume(): void {
    this.readable.resume();
  }

  /**
   * Drops the connection at once: a TCP reset where the socket is plain TCP (no
   * TIME_WAIT left behind), else (TLS, a Unix socket) a plain close.
   */
  close(): void {
    if (this.source) return this.source.close();
    const response = this.response as IncomingMessage;
    const socket = response.socket;
    if (socket instanceof Socket) resetSocket(socket);
    response.destroy();
  }

  private async nextBefore(deadline: number): Promise<SseTestMessage> {
    while (this.cursor >= this.received.length) {
      if (this.isEnded)
        throw new Error(`The SSE stream ended after ${this.received.length} message(s); no more to read.`);
      await this.waitUntil(deadline);
    }
    return this.received[this.cursor++];
  }

  private async nextEventBefore(deadline: number): Promise<SseTestEvent> {
    for (;;) {
      const message = await this.nextBefore(deadline);
      if (message.type === 'event') return message;
    }
  }

  private push(message: SseTestMessage): void {
    this.received.push(message);
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private waitUntil(deadline: number): Promise<void> {
    return this.waitFor(new Promise<void>((resolve) => (this.wake = resolve)), 'message', deadline);
  }

  private waitFor(promise: Promise<void>, what: string, deadline = Date.now() + this.timeout): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `No SSE ${what} within ${this.timeout} ms (received so far: ${JSON.stringify(this.received)}).`,
            ),
          ),
        Math.max(0, deadline - Date.now()),
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}
