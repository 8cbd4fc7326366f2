import { describe, expect, it } from '@jest/globals';
import { ClientRegistry, type HubEntry } from '../../../src/hub/client-registry';
import { InMemoryPresenceStore } from '../../../src/hub/in-memory.presence-store';
import { FakeClient } from './support/fake-client';

/** A stream registered in `channels`, set up (present) unless told otherwise. */
function register(registry: ClientRegistry, channels: string[], info?: unknown, present = true): HubEntry {
  const fake = new FakeClient();
  channels.forEach((channel) => fake.channels.add(channel));
  const entry: HubEntry = {
    client: fake.client,
    stream: fake.stream,
    onMessage: undefined,
    pending: undefined,
    replay: undefined,
    info,
    present,
  };
  registry.add(entry);
  return entry;
}

describe('InMemoryPresenceStore', () => {
  it("lists this instance's set-up streams from the registry, all or by channel, with their info", async () => {
    const registry = new ClientRegistry();
    const store = new InMemoryPresenceStore(registry);
    const a = register(registry, ['x', 'y'], { user: 'ann' });
    const b = register(registry, ['y']);
    register(registry, ['x'], undefined, false); // still in its setup: not listed yet
    expect(await store.presence()).toEqual({
      count: 2,
      clients: [
        { id: a.client.id, channels: ['x', 'y'], info: { user: 'ann' } },
        { id: b.client.id, channels: ['y'], info: null },
      ],
    });
    expect((await store.presence('x')).clients.map((client) => client.id)).toEqual([a.client.id]);
    registry.remove(a);
    expect((await store.presence('y')).clients.map((client) => client.id)).toEqual([b.client.id]);
    expect(await store.presence('x')).toEqual({ count: 0, clients: [] });
  });

  it('hands out copies: a caller that changes what it got changes no stream', async () => {
    const registry = new ClientRegistry();
    const store = new InMemoryPresenceStore(registry);
    const a = register(registry, ['x']);
    (await store.presence()).clients[0].channels.push('changed by the caller');
    expect([...a.client.channels]).toEqual(['x']);
    expect((await store.presence()).clients[0].channels).toEqual(['x']);
  });
});
