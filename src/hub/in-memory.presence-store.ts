import { type ClientRegistry } from './client-registry';
import { type SsePresence, type SsePresenceEntry } from './sse-presence.interface';
import { type SsePresenceStore } from './sse-presence-store.interface';

/**
 * The presence of one instance (the in-process transport's, and a transport's that keeps
 * none): read from the hub's registry when asked, so that a stream costs no copy of
 * itself. Changes need no recording: the registry is already the truth.
 */
export class InMemoryPresenceStore implements SsePresenceStore {
  constructor(private readonly registry: ClientRegistry) {}

  update(): void {}

  presence(channel?: string, user?: string): Promise<SsePresence> {
    const clients: SsePresenceEntry[] = [];
    const entries = user === undefined ? this.registry.all(channel) : this.registry.ofUser(user);
    // Listed once its setup is done (`present`), as on every transport.
    for (const { client, info, present } of entries) {
      if (!present || (channel !== undefined && !client.channels.has(channel))) continue;
      clients.push({ id: client.id, channels: [...client.channels], info: info ?? null, user: client.user });
    }
    return Promise.resolve({ count: clients.length, clients });
  }
}
