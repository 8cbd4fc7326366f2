import { type SsePresence, type SsePresenceChange, type SsePresenceEntry } from './sse-presence.interface';
import { type SsePresenceStore } from './sse-presence-store.interface';

/**
 * The streams of this instance, kept in memory: the presence of the in-process transport
 * (and of a transport that keeps none), the reference every other store is tested against.
 */
export class InMemoryPresenceStore implements SsePresenceStore {
  private readonly entries = new Map<string, SsePresenceEntry>();
  private readonly byChannel = new Map<string, Set<string>>();

  update(changes: SsePresenceChange[]): void {
    for (const change of changes) {
      const id = change.type === 'set' ? change.entry.id : change.id;
      const channels = change.type === 'set' ? change.entry.channels : [];
      // Only the channels it left: one it stays in keeps its place in the channel's list.
      for (const channel of this.entries.get(id)?.channels ?? [])
        if (!channels.includes(channel)) this.unindex(id, channel);
      if (change.type === 'remove') {
        this.entries.delete(id);
        continue;
      }
      this.entries.set(id, { ...change.entry, channels: [...channels] });
      for (const channel of channels) this.index(id, channel);
    }
  }

  presence(channel?: string): Promise<SsePresence> {
    const ids = channel === undefined ? this.entries.keys() : (this.byChannel.get(channel) ?? []);
    const clients: SsePresenceEntry[] = [];
    for (const id of ids) {
      const { channels, info } = this.entries.get(id)!;
      clients.push({ id, channels: [...channels], info });
    }
    return Promise.resolve({ count: clients.length, clients });
  }

  private index(id: string, channel: string): void {
    let members = this.byChannel.get(channel);
    if (!members) this.byChannel.set(channel, (members = new Set()));
    members.add(id);
  }

  private unindex(id: string, channel: string): void {
    const members = this.byChannel.get(channel);
    if (!members) return;
    members.delete(id);
    if (members.size === 0) this.byChannel.delete(channel);
  }
}
