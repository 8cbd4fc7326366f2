import { type StreamRoute } from '../../../src/hub/attached-stream.interface';
import { HubStreams } from '../../../src/hub/hub-streams';
import { InMemoryTransport } from '../../../src/hub/in-memory.transport';
import { SseHub } from '../../../src/hub/sse-hub.service';
import { FakeClient } from './support/fake-client';

// A FakeClient is its own write path: what HubStreams reaches with streamOf(client) of a real one.
jest.mock('../../../src/connection/internal', () => ({
  ...jest.requireActual('../../../src/connection/internal'),
  streamOf: (client: unknown) => client,
}));

const route = (options: Partial<StreamRoute> = {}): StreamRoute => ({
  channels: undefined,
  presence: undefined,
  presenceEvents: false,
  replayLimit: Infinity,
  resyncEvent: 'resync',
  ...options,
});

async function started() {
  const transport = new InMemoryTransport();
  const streams = new HubStreams(transport, { metrics: false });
  const hub = new SseHub(streams);
  await hub.onModuleInit();
  return { transport, streams, hub };
}

describe('HubStreams', () => {
  it("attaches a stream once: its channels, the handler's result and onJoin's value, then the hub's messages", async () => {
    const { streams, hub } = await started();
    const fake = new FakeClient();
    const stream = streams.attach(
      fake.client,
      route({ channels: async () => ['room:1', 'room:2'] }),
      'GET /x',
    )!;
    const joinedAt: number[] = [];
    const opened = await stream.open({
      result: Promise.resolve('result'),
      onJoin: () => {
        // onJoin already counts it, in its channels.
        joinedAt.push(hub.count('room:1'));
        return 'welcome';
      },
    });
    expect(opened).toEqual({ head: '', result: 'result', joined: 'welcome' });
    expect(joinedAt).toEqual([1]);
    expect([...fake.channels]).toEqual(['room:1', 'room:2']);
    await hub.broadcast('hello', { channels: 'room:2' });
    expect(fake.data).toEqual(['hello']);
    expect((await hub.presence('room:1')).clients.map((c) => c.id)).toEqual([fake.id]);
  });

  it('starts a reconnecting client whose id is unknown with a resync head, and reads no replay on a route without it', async () => {
    const { streams } = await started();
    const gap = new FakeClient('1700000000000-0');
    const opened = await streams
      .attach(gap.client, route({ resyncEvent: 'start-over' }), 'GET /x')!
      .open({ result: undefined });
    expect(opened!.head).toBe('event: start-over\ndata: {"lastEventId":"1700000000000-0"}\n\n');
    expect(gap.replay).toBe('gap');
    const off = new FakeClient('1700000000000-0');
    const none = await streams
      .attach(off.client, route({ replayLimit: false }), 'GET /x')!
      .open({ result: undefined });
    expect(none!.head).toBe('');
    expect(off.replay).toBe('none');
  });

  it('stops the setup when the client goes during a step, and leaves it out of the hub', async () => {
    const { streams, hub } = await started();
    const fake = new FakeClient();
    const onJoin = jest.fn();
    const opened = await streams.attach(fake.client, route({ channels: 'room' }), 'GET /x')!.open({
      result: Promise.resolve().then(() => fake.end('client-disconnected')),
      onJoin,
    });
    expect(opened).toBeUndefined();
    expect(onJoin).not.toHaveBeenCalled();
    expect(hub.count()).toBe(0);
  });

  it('refuses a stream once shutting down, and ends those set up meanwhile', async () => {
    const { streams, hub } = await started();
    const early = new FakeClient();
    const attached = streams.attach(early.client, route(), 'GET /x')!;
    const opening = attached.open({ result: new Promise((resolve) => setImmediate(resolve)) });
    await hub.beforeApplicationShutdown();
    expect(await opening).toBeUndefined();
    expect(early.reason).toBe('shutdown');
    const late = new FakeClient();
    expect(streams.attach(late.client, route(), 'GET /x')).toBeUndefined();
    expect(late.reason).toBe('shutdown');
  });

  it('checks channels one way, with one message, from a route and from the hub alike', async () => {
    const { streams, hub } = await started();
    const fake = new FakeClient();
    await expect(
      streams.attach(fake.client, route({ channels: () => 42 }), 'GET /rooms')!.open({ result: undefined }),
    ).rejects.toThrow('@SseRoute() GET /rooms: channels must be a channel name or a list of them, got 42.');
    await expect(hub.join('id', [42] as unknown as string[])).rejects.toThrow(
      'SseHub.join: channels must be a channel name or a list of them, got [42].',
    );
    await expect(hub.broadcast('x', { channels: {} as unknown as string })).rejects.toThrow(
      'SseHub.broadcast: channels must be a channel name or a list of them, got {}.',
    );
  });

  it('calls onClose once the stream is out of the hub', async () => {
    const { streams, hub } = await started();
    const fake = new FakeClient();
    const counts: number[] = [];
    await streams.attach(fake.client, route(), 'GET /x')!.open({
      result: undefined,
      onClose: () => counts.push(hub.count()),
    });
    expect(hub.count()).toBe(1);
    fake.end('client-disconnected');
    expect(counts).toEqual([0]);
  });
});
