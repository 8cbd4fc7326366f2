import { type ClientDelivery, deliverTo } from '../../../src/hub/client-delivery';
import { type HubEntry } from '../../../src/hub/client-registry';
import { HubMessageEncoder } from '../../../src/hub/hub-message-encoder';
import { type SseMessageHandler } from '../../../src/hub/sse-message-handler.type';
import { StreamReplay } from '../../../src/hub/stream-replay';
import { type ThrottledLogger } from '../../../src/hub/throttled-logger';
import { FakeClient } from './support/fake-client';
import { broadcast, sendTo } from './support/messages';

function setup(onMessage?: SseMessageHandler, options: { replay?: boolean } = {}) {
  const fake = new FakeClient(options.replay ? '1700000000000-0' : undefined);
  const errors: string[] = [];
  const delivery: ClientDelivery = {
    encoder: new HubMessageEncoder(),
    logger: { error: (_kind: string, message: string) => errors.push(message) } as unknown as ThrottledLogger,
    tooLarge: 0,
  };
  const entry: HubEntry = {
    client: fake.client,
    stream: fake.stream,
    onMessage,
    pending: undefined,
    replay: options.replay ? new StreamReplay(fake.client, fake.stream) : undefined,
  };
  return { fake, delivery, entry, errors };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('deliverTo', () => {
  it('writes the bytes encoded once, with the broadcast id, to a client without onMessage', () => {
    const { fake, delivery, entry } = setup();
    const message = broadcast({ n: 1 }, undefined, '1700000000000-7');
    deliverTo(delivery, entry, message);
    expect(fake.written).toEqual([
      { chunk: 'id: 1700000000000-7\ndata: {"n":1}\n\n', id: '1700000000000-7' },
    ]);
    // The same Buffer for every recipient: encoded once.
    expect(delivery.encoder.encoded(message)).toBe(delivery.encoder.encoded(message));
  });

  it("sends what onMessage returns: the message unchanged as is, another value with the message's id, nothing for undefined", () => {
    const { fake, delivery, entry } = setup((value) =>
      value === 'skip' ? undefined : value === 'swap' ? { event: 'swapped', data: 'x' } : value,
    );
    deliverTo(delivery, entry, broadcast('as is', undefined, '1700000000000-1'));
    deliverTo(delivery, entry, broadcast('skip', undefined, '1700000000000-2'));
    deliverTo(delivery, entry, broadcast('swap', undefined, '1700000000000-3'));
    expect(fake.written).toEqual([
      { chunk: 'id: 1700000000000-1\ndata: as is\n\n', id: '1700000000000-1' },
      { chunk: 'event: swapped\nid: 1700000000000-3\ndata: x\n\n', id: '1700000000000-3' },
    ]);
  });

  it('keeps the order of messages through an async onMessage that resolves out of order', async () => {
    const resolvers: Array<() => void> = [];
    const { fake, delivery, entry } = setup(
      (value) => new Promise((resolve) => resolvers.push(() => resolve(value))),
    );
    deliverTo(delivery, entry, broadcast('first'));
    deliverTo(delivery, entry, sendTo(fake.id, 'second'));
    deliverTo(delivery, entry, broadcast('third'));
    // Only the first hook runs until it settles.
    expect(resolvers).toHaveLength(1);
    resolvers[0]();
    await flush();
    resolvers[1]();
    await flush();
    resolvers[2]();
    await flush();
    expect(fake.data).toEqual(['first', 'second', 'third']);
    expect(entry.pending).toBeUndefined();
  });

  it('logs an onMessage that throws or rejects, and goes on with the next message', async () => {
    const { fake, delivery, entry, errors } = setup((value) => {
      if (value === 'throw') throw new Error('sync hook bug');
      if (value === 'reject') return Promise.reject(new Error('async hook bug'));
      return value;
    });
    deliverTo(delivery, entry, broadcast('throw'));
    deliverTo(delivery, entry, broadcast('reject'));
    deliverTo(delivery, entry, broadcast('fine'));
    await flush();
    expect(fake.data).toEqual(['fine']);
    expect(errors.join('\n')).toMatch(/onMessage threw .*sync hook bug/);
    expect(errors.join('\n')).toMatch(/onMessage threw .*async hook bug/);
    expect(fake.closed).toBe(false);
  });

  it('gives a client a resync instead of an event over its maxEventBytes, and counts it', () => {
    const { fake, delivery, entry } = setup();
    fake.maxEventBytes = 20;
    deliverTo(delivery, entry, broadcast('x'.repeat(100)));
    expect(fake.written).toEqual([]);
    expect(fake.resyncs).toEqual([1]);
    expect(delivery.tooLarge).toBe(1);
  });

  it('holds messages while the replay is pending, counting their bytes against the client, and sends them on release', () => {
    const { fake, delivery, entry } = setup(undefined, { replay: true });
    deliverTo(delivery, entry, broadcast('held 1'));
    deliverTo(delivery, entry, sendTo(fake.id, 'held 2'));
    expect(fake.written).toEqual([]);
    expect(fake.reserved).toBeGreaterThan(0);
    entry.replay!.release((message) => deliverTo(delivery, entry, message));
    expect(fake.data).toEqual(['held 1', 'held 2']);
    expect(fake.reserved).toBe(0);
  });
});
