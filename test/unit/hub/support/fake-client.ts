import {
  type SseChannelListener,
  type SseClient,
  type SseCloseReason,
  type SseReplayStatus,
} from '../../../../src/connection';
import { type SseStream } from '../../../../src/connection/internal';

/**
 * What the hub uses of an `SseClient`, without a socket: what it is written is kept as
 * text, with the id it carried. Its `reserve` ends it as a slow consumer past `maxPendingBytes`.
 */
export class FakeClient {
  private static next = 0;
  readonly id = `client-${++FakeClient.next}`;
  readonly request = { url: '/events' };
  readonly channels = new Set<string>();
  readonly written: Array<{ chunk: string; id: string | undefined }> = [];
  readonly resyncs: Array<number | undefined> = [];
  closed = false;
  reason: SseCloseReason | undefined;
  reserved = 0;
  maxPendingBytes = Infinity;
  maxEventBytes = Infinity;
  replay: SseReplayStatus = 'none';
  private listener: SseChannelListener | undefined;
  private readonly closeListeners: Array<(reason: SseCloseReason) => void> = [];

  constructor(readonly lastEventId?: string) {}

  /** As the hub sees it. */
  get client(): SseClient {
    return this as unknown as SseClient;
  }

  /** Its write path, as the hub sees it (`streamOf(client)` of a real one). */
  get stream(): SseStream {
    return this as unknown as SseStream;
  }

  get pendingBytes(): number {
    return this.reserved;
  }

  /** The `data:` of each event written, in order. */
  get data(): string[] {
    return this.written.flatMap(({ chunk }) =>
      chunk
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6)),
    );
  }

  writeEvent(chunk: string | Buffer, id?: string): boolean | 'too-large' {
    if (this.closed) return false;
    if (chunk.length > this.maxEventBytes) {
      this.resync(1);
      return 'too-large';
    }
    this.written.push({ chunk: chunk.toString(), id });
    return true;
  }

  reserve(bytes: number): boolean {
    if (this.closed) return false;
    if (this.reserved + bytes > this.maxPendingBytes) {
      this.end('slow-consumer');
      return false;
    }
    this.reserved += bytes;
    return true;
  }

  unreserve(bytes: number): void {
    this.reserved = Math.max(0, this.reserved - bytes);
  }

  resync(dropped?: number): void {
    this.resyncs.push(dropped);
  }

  setReplay(status: SseReplayStatus): void {
    this.replay = status;
  }

  setChannelListener(listener: SseChannelListener | undefined): void {
    this.listener = listener;
  }

  join(channel: string): void {
    if (this.channels.has(channel)) return;
    this.channels.add(channel);
    if (!this.closed) this.listener?.channelJoined(this.client, channel);
  }

  leave(channel: string): void {
    if (this.channels.delete(channel)) this.listener?.channelLeft(this.client, channel);
  }

  onClose(listener: (reason: SseCloseReason) => void): void {
    this.closeListeners.push(listener);
  }

  end(reason: SseCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.reason = reason;
    this.listener?.clientClosed(this.client);
    for (const listener of this.closeListeners) listener(reason);
  }

  close(): void {
    this.end('server-closed');
  }
}
