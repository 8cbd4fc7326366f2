import { type SseClient } from '../connection';
import { reaches } from './client-delivery';
import { type HubEntry } from './client-registry';
import { type HubMessageEncoder } from './hub-message-encoder';
import { type SseBroadcastMessage } from './sse-hub-message.interface';

/** Channels whose skipped messages are named one by one; past this many, any channel joined later counts as missed. */
const MAX_SKIPPED_CHANNELS = 1000;

/**
 * What one replay keeps of the history it reads, message by message as the transport's
 * pages come in, so that its memory is bounded by the client's `maxPendingBytes`
 * whatever the history holds:
 * - the broadcasts of the client's channels (by then), up to `maxPendingBytes` and the
 *   route's event limit: past either, the read stops and the replay is a gap (a resync
 *   serves such a client better than a cut-off);
 * - those of other channels, which `onJoin` may still join, while they too fit in
 *   `maxPendingBytes`; past it, only their channels are noted, and a client that joins
 *   one of them in `onJoin` gets a resync rather than a replay with a hole in it.
 */
export class ReplayRead {
  readonly messages: SseBroadcastMessage[] = [];
  /** The bytes of the client's own broadcasts among `messages`. */
  bytes = 0;
  private othersBytes = 0;
  private count = 0;
  /** The id of the last broadcast read, kept or not: live ones up to it were in the history. */
  upTo: string | undefined;
  /** Channels of broadcasts left out for want of room; `true`: too many to name. */
  skipped: Set<string> | true | undefined;
  overflowed = false;

  constructor(
    private readonly entry: HubEntry,
    private readonly encoder: HubMessageEncoder,
    private readonly limit: number,
  ) {}

  private get client(): SseClient {
    return this.entry.client;
  }

  /** Takes one broadcast of the history; false once the client cannot have it all (the read stops). */
  readonly take = (message: SseBroadcastMessage): boolean => {
    this.upTo = message.id ?? this.upTo;
    const bytes = this.encoder.encoded(message)?.length ?? 0;
    if (reaches(this.entry, message)) {
      this.bytes += bytes;
      if (
        ++this.count > this.limit ||
        this.client.pendingBytes + this.bytes > this.entry.stream.maxPendingBytes
      ) {
        this.overflowed = true;
        return false;
      }
    } else if (this.othersBytes + bytes <= this.entry.stream.maxPendingBytes) {
      this.othersBytes += bytes;
    } else {
      this.skip(message.channels);
      return true;
    }
    this.messages.push(message);
    return true;
  };

  private skip(channels: readonly string[] | undefined): void {
    if (this.skipped === true || !channels) return;
    this.skipped ??= new Set();
    for (const channel of channels) this.skipped.add(channel);
    if (this.skipped.size > MAX_SKIPPED_CHANNELS) this.skipped = true;
  }
}
