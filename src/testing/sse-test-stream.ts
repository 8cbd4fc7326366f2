import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { createParser } from 'eventsource-parser';
import { type SseTestEvent, type SseTestMessage } from './sse-test-message.type';

/**
 * One stream opened by `openSseStream`, read with a real parser (`eventsource-parser`).
 * Every wait rejects after `timeout` ms, or as soon as the stream ends with nothing left.
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

  constructor(
    private readonly response: IncomingMessage,
    private readonly timeout: number,
  ) {
    const parser = createParser({
      onEvent: ({ event, id, data }) => this.push({ type: 'event', event, id, data }),
      onComment: (comment) => this.push({ type: 'comment', comment }),
      onRetry: (retry) => this.push({ type: 'retry', retry }),
    });
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      this.rawBody += chunk;
      parser.feed(chunk);
    });
    this.endedPromise = new Promise((resolve) => {
      const end = () => {
        this.isEnded = true;
        this.notify();
        resolve();
      };
      response.once('end', end);
      response.once('close', end);
      response.once('error', end);
    });
  }

  /** The HTTP status. */
  get status(): number {
    return this.response.statusCode ?? 0;
  }

  get headers(): IncomingHttpHeaders {
    return this.response.headers;
  }

  /** `true` once the server ended the stream (or it was closed). */
  get ended(): boolean {
    return this.isEnded;
  }

  /** The raw body received so far: the wire bytes, or an error response's JSON. */
  get body(): string {
    return this.rawBody;
  }

  /** The next message of any kind. */
  async next(): Promise<SseTestMessage> {
    const deadline = Date.now() + this.timeout;
    while (this.cursor >= this.received.length) {
      if (this.isEnded) throw new Error(`The SSE stream ended after ${this.received.length} message(s); no more to read.`);
      await this.waitUntil(deadline);
    }
    return this.received[this.cursor++];
  }

  /** The next event, passing over comments and `retry` fields. */
  async nextEvent(): Promise<SseTestEvent> {
    for (;;) {
      const message = await this.next();
      if (message.type === 'event') return message;
    }
  }

  /** The next comment, passing over events. */
  async nextComment(): Promise<string> {
    for (;;) {
      const message = await this.next();
      if (message.type === 'comment') return message.comment;
    }
  }

  /** The next `count` events. */
  async take(count: number): Promise<SseTestEvent[]> {
    const events: SseTestEvent[] = [];
    while (events.length < count) events.push(await this.nextEvent());
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
    this.response.pause();
  }

  /** Reads again after `pause()`. */
  resume(): void {
    this.response.resume();
  }

  /** Drops the connection at once (TCP reset: no TIME_WAIT left behind). */
  close(): void {
    const socket = this.response.socket;
    if (socket && !socket.destroyed) socket.resetAndDestroy();
    this.response.destroy();
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
      timer = setTimeout(() => reject(new Error(`No SSE ${what} within ${this.timeout} ms (received so far: ${JSON.stringify(this.received)}).`)), Math.max(0, deadline - Date.now()));
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}
