import { openSseStream, type SseTestStream } from '../../../src/testing';
import { type ClientTrace } from './fault-checker';
import { type MatrixInstance } from './fault-instances';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A channel name no transport can store (NUL): a route may refuse it (400) rather than stream. */
const UNSTORABLE = /\0/;

/**
 * A client of the matrix, as a browser's EventSource is: it reads its stream with a real
 * parser (openSseStream: eventsource-parser), and reconnects with the last id it received
 * when the stream ends, to the same instance; the run also makes it hop to another
 * instance, or leave. What it receives is its trace, up to the end marker.
 */
export class MatrixClient {
  readonly trace: ClientTrace;
  private stream: SseTestStream | undefined;
  /** The connection that may record and reconnect (see attach). */
  private current: object = {};
  private lastEventId: string | undefined;
  /** Whose stream its Last-Event-ID was taken from, until its first stream opens. */
  private stolenFrom: string | undefined;
  /** Left, or stopped at the end: no reconnecting. */
  private done = false;
  private endReached: (() => void) | undefined;
  private readonly ended = new Promise<void>((resolve) => (this.endReached = resolve));
  /** Why the last attempt to open a stream failed, for a report. */
  lastError: string | undefined;

  constructor(
    name: string,
    channels: string[],
    /** Its user (`?user=`); none: a stream without a user. */
    user: string | undefined,
    private readonly instances: Map<string, MatrixInstance>,
    private readonly isEnd: (data: string) => boolean,
  ) {
    this.trace = { name, channels, user, segments: [], events: [], reachedEnd: false };
  }

  /** Whether a route may refuse this client's channels (one has a NUL). */
  get mayBeRefused(): boolean {
    return this.trace.channels.some((channel) => UNSTORABLE.test(channel));
  }

  /** Its open stream (its id from the hello), if it has one. */
  get present(): { id: string; channels: string[]; user?: string } | undefined {
    const segment = this.trace.segments.at(-1);
    if (!this.stream || this.done || !segment?.clientId || segment.endedAt !== undefined) return undefined;
    return { id: segment.clientId, channels: this.trace.channels, user: this.trace.user };
  }

  /** The id of the first broadcast it received (what a thief takes: the most of its history to replay). */
  get firstEventId(): string | undefined {
    return this.trace.events.find((event) => event.event === 'n' && event.id !== undefined)?.id;
  }

  /**
   * Opens a stream on `on` and reads until its hello; 'refused' if the route answered 400
   * to a channel it may refuse. With `stolen`, its first stream opens with that
   * Last-Event-ID, taken from client `stolen.from`'s stream (a thief's).
   */
  connect(on: string, stolen?: { from: string; id: string }): Promise<'open' | 'refused'> {
    if (stolen) {
      this.lastEventId = stolen.id;
      this.stolenFrom = stolen.from;
    }
    return this.attach(on, (this.current = {}));
  }

  /**
   * One connection, for `token`: a later hop or reconnect makes a new token, and a
   * connection of an older one neither records nor reconnects (as EventSource has one
   * connection at a time, and drops what it had not dispatched when it closes it).
   */
  private async attach(on: string, token: object): Promise<'open' | 'refused'> {
    const instance = this.instances.get(on)!;
    const { user } = this.trace;
    const query = user === undefined ? '' : `?user=${encodeURIComponent(user)}`;
    const path = `/matrix/${encodeURIComponent(this.trace.channels.join('+'))}/events${query}`;
    const opening = {
      instance: on,
      lastEventId: this.lastEventId,
      stolenFrom: this.stolenFrom,
      openedAt: Date.now(),
    };
    const stream = await openSseStream(instance.url, path, {
      headers: this.lastEventId ? { 'last-event-id': this.lastEventId } : {},
      timeout: 60_000,
    });
    if (this.current !== token) {
      stream.close();
      return 'open';
    }
    if (stream.status === 400 && this.mayBeRefused) {
      stream.close();
      this.done = true;
      this.trace.gone = true;
      return 'refused';
    }
    if (stream.status !== 200) {
      stream.close();
      throw new Error(`${this.trace.name}: ${instance.url}${path} answered ${stream.status}: ${stream.body}`);
    }
    const segment = this.trace.segments.push(opening) - 1;
    this.stolenFrom = undefined;
    this.stream = stream;
    await new Promise<void>((hello) => void this.read(stream, segment, token, hello));
    return 'open';
  }

  private async read(
    stream: SseTestStream,
    segment: number,
    token: object,
    hello: () => void,
  ): Promise<void> {
    const trace = this.trace.segments[segment];
    for (;;) {
      let event;
      try {
        event = await stream.nextEvent();
      } catch {
        if (stream.ended) break;
        // Only quiet (the stream's own timeout): keep reading.
        continue;
      }
      if (this.current !== token) break;
      if (this.trace.reachedEnd) continue;
      const at = Date.now();
      this.trace.events.push({
        event: event.event ?? 'message',
        id: event.id,
        data: event.data,
        at,
        segment,
      });
      if (event.event === 'hello') {
        trace.helloAt = at;
        trace.clientId = event.data;
        hello();
      } else if (event.event === 'n' && event.id !== undefined) this.lastEventId = event.id;
      if (event.event === 'n' && this.isEnd(event.data)) {
        this.trace.reachedEnd = true;
        this.endReached?.();
      }
    }
    hello();
    if (this.current !== token || trace.endedAt !== undefined) return;
    trace.endedAt = Date.now();
    trace.endedBy = 'server';
    if (!this.done) await this.reconnect(trace.instance);
  }

  /** As EventSource does: again and again, with the last id, a little later each time (bounded), until a hop or a leave. */
  private async reconnect(on: string): Promise<void> {
    const token = (this.current = {});
    for (let attempt = 0; attempt < 60 && !this.done && this.current === token; attempt++) {
      await sleep(Math.min(100 * 2 ** attempt, 1_000));
      if (this.done || this.current !== token) return;
      try {
        if ((await this.attach(on, token)) === 'open') return;
      } catch (error) {
        this.lastError = (error as Error).message;
      }
    }
  }

  private closeStream(): void {
    this.current = {};
    const segment = this.trace.segments.at(-1);
    if (segment && segment.endedAt === undefined) {
      segment.endedAt = Date.now();
      segment.endedBy = 'test';
    }
    this.stream?.close();
  }

  /** Closes its stream and opens one on `to`, with the last id it received. */
  async hop(to: string): Promise<void> {
    if (this.done) return;
    this.closeStream();
    try {
      await this.connect(to);
    } catch (error) {
      this.lastError = (error as Error).message;
      await this.reconnect(to);
    }
  }

  /** Goes for good. */
  leave(): void {
    this.done = true;
    this.trace.gone = true;
    this.closeStream();
  }

  /** Whether the end marker came within `ms`. */
  async untilEnd(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    return Promise.race([this.ended.then(() => true), late]).finally(() => clearTimeout(timer));
  }

  /** At the end of the run. */
  stop(): void {
    this.done = true;
    this.closeStream();
  }
}
