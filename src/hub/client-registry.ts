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

/** This instance's streams, by id, by channel and by user. */
export class ClientRegistry {
  private readonly entries = new Map<string, HubEntry>();
  private readonly channelIndex = new Map<string, Set<HubEntry>>();
  /** Only streams with a user: most routes have none, and cost nothing here. */
  private readonly userIndex = new Map<string, Set<HubEntry>>();

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
    const { user } = entry.client;
    if (user !== undefined) addTo(this.userIndex, user, entry);
  }

  remove(entry: HubEntry): void {
    if (this.entries.get(entry.client.id) !== entry) return;
    this.entries.delete(entry.client.id);
    for (const channel of entry.client.channels) this.unindex(entry, channel);
    const { user } = entry.client;
    if (user !== undefined) removeFrom(this.userIndex, user, entry);
  }

  count(channel?: string): number {
    return channel === undefined ? this.entries.size : (this.channelIndex.get(channel)?.size ?? 0);
  }

  all(channel?: string): Iterable<HubEntry> {
    return channel === undefined ? this.entries.values() : (this.channelIndex.get(channel)?.values() ?? []);
  }

  /** The streams of one user on this instance. */
  ofUser(user: string): Iterable<HubEntry> {
    return this.userIndex.get(user)?.values() ?? [];
  }

  /**
   * Who a broadcast goes to: every stream, or those in any of `channels` (each once),
   * or those of `users` (and, with `channels` too, in one of them), minus the ids in
   * `except`. Live, not a copy (a copy per broadcast costs a burst dearly): a stream that
   * closes during the delivery is passed over.
   */
  recipients(
    channels: readonly string[] | undefined,
    except: readonly string[] | undefined,
    users?: readonly string[],
  ): Iterable<HubEntry> {
    let recipients: Iterable<HubEntry>;
    // By user first: a user has a few streams, where a channel may have thousands.
    if (users !== undefined) recipients = this.ofUsers(users, channels);
    else if (channels === undefined) recipients = this.entries.values();
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
    addTo(this.channelIndex, channel, entry);
  }

  unindex(entry: HubEntry, channel: string): void {
    removeFrom(this.channelIndex, channel, entry);
  }

  /** The streams of `users` (each once), in one of `channels` if given. */
  private ofUsers(users: readonly string[], channels: readonly string[] | undefined): HubEntry[] {
    const found: HubEntry[] = [];
    // A user named twice is looked up once; an entry belongs to one user, so it is found once.
    for (const user of users.length > 1 ? new Set(users) : users) {
      for (const entry of this.ofUser(user))
        if (channels === undefined || channels.some((channel) => entry.client.channels.has(channel)))
          found.push(entry);
    }
    return found;
  }
}

function addTo(index: Map<string, Set<HubEntry>>, key: string, entry: HubEntry): void {
  let members = index.get(key);
  if (!members) index.set(key, (members = new Set()));
  members.add(entry);
}

function removeFrom(index: Map<string, Set<HubEntry>>, key: string, entry: HubEntry): void {
  const members = index.get(key);
  if (!members) return;
  members.delete(entry);
  if (members.size === 0) index.delete(key);
}
