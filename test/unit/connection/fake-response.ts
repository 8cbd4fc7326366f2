import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { SseClient, type SseClientInit } from '../../../src/connection';
import { type SseStream, streamOf } from '../../../src/connection/internal';

/**
 * A `ServerResponse` whose socket takes bytes only while the test lets it: a real
 * `Writable`, so `write()` returning false, `writableLength`, `writableNeedDrain` and
 * `'drain'` behave as Node's do. No socket of its own, so the stream writes to it.
 */
export class FakeResponse extends Writable {
  readonly socket = null;
  statusCode: number | undefined;
  headers: OutgoingHttpHeaders | undefined;
  /** Each `write()` the stream made, as it made it. */
  readonly writes: Array<string | Buffer> = [];
  /** What the socket has taken, in order. */
  private readonly taken: Buffer[] = [];
  private stalled = false;
  private held: Array<() => void> = [];

  constructor(highWaterMark = 16 * 1024) {
    super({ highWaterMark });
  }

  override write(chunk: any, ...rest: any[]): boolean {
    this.writes.push(chunk);
    return (super.write as (...args: any[]) => boolean)(chunk, ...rest);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.taken.push(chunk);
    if (this.stalled) this.held.push(done);
    else done();
  }

  /** The reader stops reading: what is written from now on stays in the response's buffer. */
  stall(): void {
    this.stalled = true;
  }

  /** The reader reads again: the buffer empties, and `'drain'` follows if a write returned false. */
  resume(): void {
    this.stalled = false;
    const held = this.held;
    this.held = [];
    for (const done of held) done();
  }

  /** Everything the socket has taken, as text. */
  get body(): string {
    return Buffer.concat(this.taken).toString();
  }

  writeHead(statusCode: number, headers?: OutgoingHttpHeaders): this {
    this.statusCode = statusCode;
    this.headers = headers;
    return this;
  }

  flushHeaders(): void {}

  removeHeader(): void {}
}

/** A client on a fake response, and its inside (which the hub and the interceptor drive). */
export function openClient(
  init: Partial<SseClientInit> = {},
  res = new FakeResponse(),
): { client: SseClient; stream: SseStream; res: FakeResponse } {
  const req = { httpVersionMajor: 1, headers: {}, socket: null } as unknown as IncomingMessage;
  const client = new SseClient({
    request: {},
    req,
    res: res as unknown as ServerResponse,
    keepAlive: false,
    ...init,
  });
  return { client, stream: streamOf(client), res };
}

/** Until the current turn's microtasks (the flush) and the I/O callbacks after them have run. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
