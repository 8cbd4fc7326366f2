import { type SseClient } from '../connection';
import { type SseStream } from '../connection/internal';
import { type SseMessageHandler } from './sse-message-handler.type';
import { type StreamReplay } from './stream-replay';

/** One registered stream, as the hub follows it. */
export interface HubEntry {
  readonly client: SseClient;
  /** The client's write path (`streamOf(client)`), held here so that a write costs no lookup. */
  readonly stream: SseStream;
  readonly onMessage: SseMessageHandler | undefined;
  /** Set while an async `onMessage` runs, so that later messages wait their turn. */
  pending: Promise<void> | undefined;
  /** Its replay, on a route that replays and for a client that reconnected with an id. */
  readonly replay: StreamReplay | undefined;
  /** What the route's `presence` option said of it, and whether its setup is done (it is then in `presence()`). */
  info?: unknown;
  present?: boolean;
  /** Whether the members of its channels hear of its joins and leaves (the route's `presenceEvents`). */
  announces?: boolean;
}

/** This instance's streams, by id and by channel. */
export class ClientRegistry {
  private readonly entries = new Map<string, HubEntry>();
  private readonly channelIndex = new Map<string, Set<HubEntry>>();

  get size(): number {
    return this.entries.size;
  }

  /** How many channels have at least one stream. */
  get channelCount(): number {
    return this.channelIndex.size;
  }

  /** The `limit` channels with the most streams, most first. */
  busiestChannels(limit: number): Array<{ channel: string; streams: number }> {
    const busiest: Array<{ channel: string; streams: number }> = [];
    for (const [channel, entries] of this.channelIndex) {
      if (busiest.length === limit && entries.size <= busiest[limit - 1].streams) continue;
      busiest.push({ channel, streams: entries.size });
      busiest.sort((a, b) => b.streams - a.streams);
      if (busiest.length > limit) busiest.pop();
    }
    return busiest;
  }

  get(clientId: string): HubEntry | undefined {
    return this.entries.get(clientId);
  }

  add(entry: HubEntry): void {
    this.entries.set(entry.client.id, entry);
    for (const channel of entry.client.channels) this.index(entry, channel);
  }

  remove(entry: HubEntry): void {
    if (this.entries.get(entry.client.id) !== entry) return;
    this.entries.delete(entry.client.id);
    for (const channel of entry.client.channels) this.unindex(entry, channel);
  }

  count(channel?: string): number {
    return channel === undefined ? this.entries.size : (this.channelIndex.get(channel)?.size ?? 0);
  }

  all(channel?: string): Iterable<HubEntry> {
    return channel === undefined ? this.entries.values() : (this.channelIndex.get(channel)?.values() ?? []);
  }

  /**
   * Who a broadcast goes to: every stream, or those in any of `channels` (each once),
   * minus the ids in `except`. Live, not a copy (a copy per broadcast costs a burst
   * dearly): a stream that closes during the delivery is passed over.
   */
  recipients(
    channels: readonly string[] | undefined,
    except: readonly string[] | undefined,
  ): Iterable<HubEntry> {
    let recipients: Iterable<HubEntry>;
    if (channels === undefined) recipients = this.entries.values();
    else if (channels.length === 1) recipients = this.channelIndex.get(channels[0]) ?? [];
    else {
      const union = new Set<HubEntry>();
      for (const channel of channels) this.channelIndex.get(channel)?.forEach((entry) => union.add(entry));
      recipients = union;
    }
    if (!except?.length) return recipients;
    const skip = new Set(except);
    return Array.from(recipients).filter((entry) => !skip.has(entry.client.id));
  }

  index(entry: HubEntry, channel: string): void {
    let members = this.channelIndex.get(channel);
    if (!members) this.channelIndex.set(channel, (members = new Set()));
    members.add(entry);
  }

  unindex(entry: HubEntry, channel: string): void {
    const members = this.channelIndex.get(channel);
    if (!members) return;
    members.delete(entry);
    if (members.size === 0) this.channelIndex.delete(channel);
  }
}
