import { ClientRegistry, type HubEntry } from '../../../src/hub/client-registry';
import { FakeClient } from './support/fake-client';

function entry(...channels: string[]): HubEntry {
  const fake = new FakeClient();
  channels.forEach((channel) => fake.channels.add(channel));
  return {
    client: fake.client,
    stream: fake.stream,
    onMessage: undefined,
    pending: undefined,
    replay: undefined,
  };
}

const ids = (entries: Iterable<HubEntry>) => Array.from(entries, (e) => e.client.id).sort();

describe('ClientRegistry', () => {
  it('finds streams by id and by channel, and forgets them on remove', () => {
    const registry = new ClientRegistry();
    const a = entry('room:1');
    const b = entry('room:1', 'room:2');
    registry.add(a);
    registry.add(b);
    expect(registry.size).toBe(2);
    expect(registry.get(a.client.id)).toBe(a);
    expect(registry.count('room:1')).toBe(2);
    expect(ids(registry.all('room:2'))).toEqual([b.client.id]);
    expect(registry.channelCount).toBe(2);
    registry.remove(b);
    expect(registry.get(b.client.id)).toBeUndefined();
    expect(registry.count('room:2')).toBe(0);
    // An empty channel is dropped, not kept with no members.
    expect(registry.channelCount).toBe(1);
  });

  it('does not remove a newer entry registered under the same id', () => {
    const registry = new ClientRegistry();
    const old = entry('a');
    const newer: HubEntry = { ...old };
    registry.add(old);
    registry.add(newer);
    registry.remove(old);
    expect(registry.get(old.client.id)).toBe(newer);
  });

  it('gives a broadcast each recipient once, across channels, minus the ids in except', () => {
    const registry = new ClientRegistry();
    const a = entry('x');
    const b = entry('x', 'y');
    const c = entry('y');
    const d = entry('z');
    [a, b, c, d].forEach((e) => registry.add(e));
    expect(ids(registry.recipients(undefined, undefined))).toEqual(ids([a, b, c, d]));
    expect(ids(registry.recipients(['x'], undefined))).toEqual(ids([a, b]));
    expect(ids(registry.recipients(['x', 'y'], undefined))).toEqual(ids([a, b, c]));
    expect(ids(registry.recipients(['x', 'y'], [b.client.id]))).toEqual(ids([a, c]));
    expect(ids(registry.recipients(['nobody'], undefined))).toEqual([]);
  });

  it('follows joins and leaves through index and unindex', () => {
    const registry = new ClientRegistry();
    const a = entry();
    registry.add(a);
    registry.index(a, 'late');
    expect(registry.count('late')).toBe(1);
    registry.unindex(a, 'late');
    expect(registry.count('late')).toBe(0);
    expect(registry.channelCount).toBe(0);
  });

  it('lists the busiest channels, most streams first, at most `limit`', () => {
    const registry = new ClientRegistry();
    for (const [channel, streams] of [
      ['one', 1],
      ['three', 3],
      ['two', 2],
      ['four', 4],
    ] as const)
      for (let i = 0; i < streams; i++) registry.add(entry(channel));
    expect(registry.busiestChannels(2)).toEqual([
      { channel: 'four', streams: 4 },
      { channel: 'three', streams: 3 },
    ]);
    expect(registry.busiestChannels(10).map((c) => c.channel)).toEqual(['four', 'three', 'two', 'one']);
  });
});
