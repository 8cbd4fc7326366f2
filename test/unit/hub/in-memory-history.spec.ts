import { InMemoryTransport, type SseHubMessage } from '../../../src/hub';

describe('InMemoryTransport history', () => {
  function publishAll(transport: InMemoryTransport, count: number): string[] {
    const ids: string[] = [];
    transport.subscribe((message) => message.type === 'broadcast' && ids.push(message.id!));
    for (let n = 0; n < count; n++) void transport.publish({ type: 'broadcast', value: n });
    return ids;
  }

  it('keeps only the last `size` broadcasts, in order', () => {
    const transport = new InMemoryTransport({ historySize: 3 });
    const ids = publishAll(transport, 5);
    const result = transport.history(ids[1]);
    expect(result).toEqual({
      status: 'complete',
      messages: [
        expect.objectContaining({ value: 2 }),
        expect.objectContaining({ value: 3 }),
        expect.objectContaining({ value: 4 }),
      ],
    });
    // ids[1] was just evicted: its client missed only what is kept. ids[0] is gone for good.
    expect(transport.history(ids[0])).toEqual({ status: 'gap' });
  });

  it('answers the newest id with nothing missed, and an unknown or future id with a gap', () => {
    const transport = new InMemoryTransport({ historySize: 10 });
    const ids = publishAll(transport, 3);
    expect(transport.history(ids[2])).toEqual({ status: 'complete', messages: [] });
    expect(transport.history('1-0')).toEqual({ status: 'gap' });
    expect(transport.history('99999999999999-0')).toEqual({ status: 'gap' });
    expect(transport.history('not-an-id')).toEqual({ status: 'gap' });
  });

  it('after a restart (an empty history) every id is a gap', () => {
    expect(new InMemoryTransport().history('1700000000000-0')).toEqual({ status: 'gap' });
  });

  it('keeps nothing with size 0 and refuses a bad size', () => {
    const transport = new InMemoryTransport({ historySize: 0 });
    const ids = publishAll(transport, 2);
    expect(transport.history(ids[1])).toEqual({ status: 'gap' });
    expect(() => new InMemoryTransport({ historySize: -1 })).toThrow(/non-negative integer/);
  });

  it('gives no id to messages for one client', async () => {
    const transport = new InMemoryTransport();
    const seen: SseHubMessage[] = [];
    transport.subscribe((message) => seen.push(message));
    await transport.publish({ type: 'send', clientId: 'c', value: 1 });
    expect(seen).toEqual([{ type: 'send', clientId: 'c', value: 1 }]);
  });
});
