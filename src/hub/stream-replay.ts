import { type SseClient, type SseReplayStatus } from '../connection';
import { type SseStream } from '../connection/internal';
import { compareEventIds, isEventId } from './event-id';
import { type DeliveredMessage, type HubMessageEncoder } from './hub-message-encoder';
import { type SseBroadcastMessage } from './sse-hub-message.interface';
import { type SseHistoryResult } from './sse-replay.type';

/** Channels whose skipped messages are named one by one; past this many, any channel joined later counts as missed. */
const MAX_SKIPPED_CHANNELS = 1000;
/** Longer ids are not ours: answered with a gap without asking the transport. */
const MAX_EVENT_ID_LENGTH = 256;

/** Reads a transport's history after an id, handing each broadcast to `take` until it says stop. */
export type HistoryReader = (
  lastEventId: string,
  take: (message: SseBroadcastMessage) => boolean,
) => Promise<SseHistoryResult>;

/** Whether a broadcast is for this client on replay (`except` named other connections). */
export function reaches(client: SseClient, message: SseBroadcastMessage): boolean {
  return (
    isForUserOf(client, message) &&
    (message.channels === undefined || message.channels.some((channel) => client.channels.has(channel)))
  );
}

/**
 * Whether a broadcast may go to this client's user: one to `users` never reaches another
 * user's stream, nor one without a user, whatever its `Last-Event-ID` or channels.
 */
function isForUserOf(client: SseClient, message: SseBroadcastMessage): boolean {
  const { users } = message;
  if (users === undefined) return true;
  const { user } = client;
  return user !== undefined && users.includes(user);
}

/** What a replay read of the history, to send once the client's setup is done. */
interface MissedBroadcasts {
  messages: SseBroadcastMessage[];
  /** The last id the history had: live broadcasts up to it are not sent again. */
  upTo: string;
  /** Channels whose broadcasts were left out for want of room (`true`: too many to name), and the client's channels then. */
  skipped?: { channels: Set<string> | true; joined: ReadonlySet<string> };
}

/**
 * The replay of one reconnecting stream, from its `Last-Event-ID` to the live messages:
 * 1. `hold` keeps the live messages back from the moment it is attached;
 * 2. `read` reads what it missed from the history and says whether it can have all of
 *    it (`complete`) or must resynchronise (`gap`);
 * 3. `release` (once its setup is done) sends the missed broadcasts of the channels it
 *    is in by then, then the held ones;
 * 4. `replayedAlready` mutes, after that, live broadcasts the history had already given it
 *    (a transport's live feed can trail its history: a Redis reader behind the XRANGE).
 * Bytes held meanwhile count against the client's limits, like bytes written to it.
 */
export class StreamReplay {
  private held: DeliveredMessage[] | undefined = [];
  /** The bytes held for it (in `held` and `missed`). */
  private heldBytes = 0;
  private missed: MissedBroadcasts | undefined;
  /** The last broadcast replayed, until a later one arrives live. */
  private replayedUpTo: string | undefined;
  /**
   * Set when the replay was a gap, and `replayedUpTo` is only the client's own
   * `Last-Event-ID`: when it reconnected. A broadcast published after that is new to it,
   * whatever its id says (an id from the future, which no history knows, mutes nothing).
   */
  private gapAt: number | undefined;

  constructor(
    private readonly client: SseClient,
    private readonly stream: SseStream,
  ) {}

  /** Holds a live message back while the replay is pending: `true` if it did (or the client, too slow to hold it, ended). */
  hold(message: DeliveredMessage, bytes: number): boolean {
    if (!this.held) return false;
    // Held bytes count against the client's limits: a slow setup must not hoard them.
    if (!this.stream.reserve(bytes)) return true;
    this.heldBytes += bytes;
    this.held.push(message);
    return true;
  }

  /**
   * Reads what the client missed since its `lastEventId` (the live messages stay held).
   * More than `limit` missed events, or more bytes than the client may have pending,
   * count as a gap, like an id that is too old or unknown.
   */
  async read(history: HistoryReader, encoder: HubMessageEncoder, limit: number): Promise<SseReplayStatus> {
    const status = await this.readMissed(history, encoder, limit);
    this.stream.setReplay(status);
    return status;
  }

  private async readMissed(
    history: HistoryReader,
    encoder: HubMessageEncoder,
    limit: number,
  ): Promise<SseReplayStatus> {
    const lastEventId = this.client.lastEventId;
    if (!this.held || lastEventId === undefined) return 'none';
    const ours = lastEventId.length <= MAX_EVENT_ID_LENGTH && isEventId(lastEventId);
    const read = new ReplayRead(this.client, this.stream, encoder, limit);
    // Read page by page into what the client may have; more than that is a gap (a resync, and a snapshot from onJoin, serve it better than a cut-off).
    const found = ours ? await history(lastEventId, read.take) : { status: 'gap' as const };
    if (this.client.closed) return 'none';
    if (found.status !== 'complete' || read.overflowed) {
      if (ours) this.gapAt = Date.now();
      return 'gap';
    }
    if (!this.stream.reserve(read.bytes)) return 'none';
    this.heldBytes += read.bytes;
    const skipped = read.skipped && { channels: read.skipped, joined: new Set(this.client.channels) };
    this.missed = { messages: read.messages, upTo: read.upTo ?? lastEventId, skipped };
    return 'complete';
  }

  /**
   * Ends the hold once the client's setup is done, passing to `deliver` the broadcasts the
   * replay found (of the channels it is in now, so that channels joined in `onJoin` are
   * replayed too), then the live messages held meanwhile.
   */
  release(deliver: (message: DeliveredMessage) => void): void {
    const { held, missed } = this;
    this.held = undefined;
    this.missed = undefined;
    this.stream.unreserve(this.heldBytes);
    this.heldBytes = 0;
    // A gap: the client had everything up to its Last-Event-ID, and this instance's reader,
    // if it lags, has not delivered that far yet: what it delivers up to there is not new.
    if (!missed && this.gapAt !== undefined) this.replayedUpTo = this.client.lastEventId;
    if (missed) {
      // A channel joined in onJoin whose broadcasts the replay had no room to keep: what it missed there is unknown.
      if (missed.skipped && this.joinedAnyOf(missed.skipped)) this.stream.resync();
      for (const message of missed.messages) if (reaches(this.client, message)) deliver(message);
      // Whatever the history held is not sent twice, whether it was held back live or comes in later.
      this.replayedUpTo = missed.upTo;
    }
    if (held) for (const message of held) deliver(message);
  }

  /** Whether a live message is a broadcast the replay sent already (transports deliver in order: the first new one ends this). */
  replayedAlready(message: DeliveredMessage): boolean {
    if (this.replayedUpTo === undefined || message.type !== 'broadcast' || message.id === undefined)
      return false;
    const fresh =
      this.gapAt !== undefined && message.publishedAt !== undefined && message.publishedAt > this.gapAt;
    if (!fresh && compareEventIds(message.id, this.replayedUpTo) <= 0) return true;
    this.replayedUpTo = undefined;
    return false;
  }

  /** Whether the client is now in a channel it was not in when its replay was read, whose broadcasts that replay left out. */
  private joinedAnyOf(skipped: NonNullable<MissedBroadcasts['skipped']>): boolean {
    for (const channel of this.client.channels) {
      if (!skipped.joined.has(channel) && (skipped.channels === true || skipped.channels.has(channel)))
        return true;
    }
    return false;
  }
}

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
class ReplayRead {
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
    private readonly client: SseClient,
    private readonly stream: SseStream,
    private readonly encoder: HubMessageEncoder,
    private readonly limit: number,
  ) {}

  /** Takes one broadcast of the history; false once the client cannot have it all (the read stops). */
  readonly take = (message: SseBroadcastMessage): boolean => {
    this.upTo = message.id ?? this.upTo;
    // Another user's: never kept, not even for a channel onJoin may join (a stream's user never changes).
    if (!isForUserOf(this.client, message)) return true;
    const bytes = this.encoder.encoded(message)?.length ?? 0;
    if (reaches(this.client, message)) {
      this.bytes += bytes;
      if (++this.count > this.limit || this.client.pendingBytes + this.bytes > this.stream.maxPendingBytes) {
        this.overflowed = true;
        return false;
      }
    } else if (this.othersBytes + bytes <= this.stream.maxPendingBytes) {
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
