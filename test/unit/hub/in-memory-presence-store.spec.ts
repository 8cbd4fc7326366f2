import { describe, expect, it } from '@jest/globals';
import { InMemoryPresenceStore } from '../../../src/hub/in-memory.presence-store';
import { type SsePresenceEntry } from '../../../src/hub';

const set = (entry: SsePresenceEntry, left: string[] = []) => ({ type: 'set' as const, entry, left });

describe('InMemoryPresenceStore', () => {
  it('lists the streams it was told of, all or by channel, and forgets the ones that went', async () => {
    const store = new InMemoryPresenceStore();
    store.update([
      set({ id: 'a', channels: ['x', 'y'], info: { user: 'ann' } }),
      set({ id: 'b', channels: ['y'], info: null }),
    ]);
    expect(await store.presence()).toEqual({
      count: 2,
      clients: [
        { id: 'a', channels: ['x', 'y'], info: { user: 'ann' } },
        { id: 'b', channels: ['y'], info: null },
      ],
    });
    expect((await store.presence('x')).clients.map((client) => client.id)).toEqual(['a']);
    store.update([{ type: 'remove', id: 'a', channels: ['x', 'y'] }]);
    expect((await store.presence('y')).clients.map((client) => client.id)).toEqual(['b']);
    expect(await store.presence('x')).toEqual({ count: 0, clients: [] });
  });

  it('follows a stream across channels, keeping its place in the channels it stays in', async () => {
    const store = new InMemoryPresenceStore();
    store.update([
      set({ id: 'a', channels: ['x'], info: null }),
      set({ id: 'b', channels: ['x'], info: null }),
    ]);
    store.update([set({ id: 'a', channels: ['x', 'z'], info: null })]);
    expect((await store.presence('x')).clients.map((client) => client.id)).toEqual(['a', 'b']);
    store.update([set({ id: 'a', channels: ['z'], info: null }, ['x'])]);
    expect((await store.presence('x')).clients.map((client) => client.id)).toEqual(['b']);
    expect((await store.presence('z')).clients).toEqual([{ id: 'a', channels: ['z'], info: null }]);
  });

  it('hands out copies: a caller that changes what it got changes nothing kept', async () => {
    const store = new InMemoryPresenceStore();
    const channels = ['x'];
    store.update([set({ id: 'a', channels, info: null })]);
    channels.push('changed by the hub');
    (await store.presence()).clients[0].channels.push('changed by the caller');
    expect((await store.presence()).clients[0].channels).toEqual(['x']);
  });
});
