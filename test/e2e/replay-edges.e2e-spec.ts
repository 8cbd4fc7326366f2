import { Controller } from '@nestjs/common';
import {
  ConnectedClient,
  SseClient,
  type SseGateway,
  SseHub,
  type SseReplayStatus,
  SseRoute,
} from 'nestjs-sse-hub';
import { openSseStream, type SseTestEvent } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

const statuses: SseReplayStatus[] = [];

@Controller('edges')
class EdgesController implements SseGateway {
  // The room's channel comes from the request; the user's own is joined in onJoin.
  @SseRoute('rooms/:room', { channels: (req) => `room:${req.params.room}`, keepAlive: false })
  room(@ConnectedClient() client: SseClient) {
    return { event: 'you', data: client.id };
  }

  @SseRoute('static', { channels: 'static-room', keepAlive: false })
  staticRoom() {}

  @SseRoute('bad-channels', { channels: () => 42 as unknown as string, keepAlive: false })
  badChannels() {}

  onJoin(client: SseClient) {
    statuses.push(client.replay);
    const user = client.request.headers['x-user'];
    if (user) client.join(`user:${user}`);
    return undefined;
  }
}

const dataOf = (events: SseTestEvent[]) => events.map((event) => event.data);

describe('replay: the edges', () => {
  let t: TestApp;
  let hub: SseHub;
  beforeAll(async () => {
    t = await startApp({ controllers: [EdgesController] });
    hub = t.app.get(SseHub);
  });
  afterAll(() => t.app.close());
  beforeEach(() => (statuses.length = 0));

  it('a channel function that gives one string joins that channel, not one channel per character', async () => {
    const stream = await openSseStream(t.url, '/edges/rooms/lobby');
    await stream.nextEvent();
    expect([...hub.clients()[0].channels]).toEqual(['room:lobby']);
    await hub.broadcast('to the room', { channels: 'room:lobby' });
    expect((await stream.nextEvent()).data).toBe('to the room');
    const fixed = await openSseStream(t.url, '/edges/static');
    await hub.broadcast('static', { channels: 'static-room' });
    expect((await fixed.nextEvent()).data).toBe('static');
    stream.close();
    fixed.close();
  });

  it('a channel function that gives neither a string nor a list is a 500 before the stream, with a message that says so', async () => {
    const stream = await openSseStream(t.url, '/edges/bad-channels');
    await stream.closed();
    expect(stream.status).toBe(500);
    expect(t.logger.errors().join('\n')).toMatch(
      /@SseRoute\(\) GET \/edges\/bad-channels: channels must be a channel name or a list of them, got 42/,
    );
    t.logger.lines.length = 0;
  });

  it('an empty Last-Event-ID is no id: no resync, nothing replayed', async () => {
    const stream = await openSseStream(t.url, '/edges/rooms/empty', { headers: { 'last-event-id': '' } });
    expect((await stream.nextEvent()).event).toBe('you');
    const byQuery = await openSseStream(t.url, '/edges/rooms/empty?lastEventId=');
    expect((await byQuery.nextEvent()).event).toBe('you');
    expect(statuses).toEqual(['none', 'none']);
    stream.close();
    byQuery.close();
  });

  it('replays the channels joined in onJoin too, in id order with the route’s channels', async () => {
    const first = await openSseStream(t.url, '/edges/rooms/r1', { headers: { 'x-user': 'ann' } });
    await first.nextEvent();
    await hub.broadcast('seen', { channels: 'room:r1' });
    const seen = await first.nextEvent();
    first.close();
    await first.closed();
    await hub.broadcast('room, missed', { channels: 'room:r1' });
    await hub.broadcast('ann, missed', { channels: 'user:ann' });
    await hub.broadcast('bob, not hers', { channels: 'user:bob' });
    await hub.broadcast('room, missed again', { channels: 'room:r1' });
    const back = await openSseStream(t.url, '/edges/rooms/r1', {
      headers: { 'x-user': 'ann', 'last-event-id': seen.id! },
    });
    // The replay, then the handler's own value.
    const events = await back.take(4);
    expect(dataOf(events.slice(0, 3))).toEqual(['room, missed', 'ann, missed', 'room, missed again']);
    expect(events[3].event).toBe('you');
    expect(statuses.at(-1)).toBe('complete');
    await hub.broadcast('ann, live', { channels: 'user:ann' });
    expect((await back.nextEvent()).data).toBe('ann, live');
    back.close();
  });

  it('replays a broadcast that excepted the client’s old connection: except names connections, and a reconnect is a new one', async () => {
    const first = await openSseStream(t.url, '/edges/rooms/ex');
    const oldId = (await first.nextEvent()).data;
    await hub.broadcast('before', { channels: 'room:ex' });
    const seen = await first.nextEvent();
    await hub.broadcast('not to the sender', { channels: 'room:ex', except: oldId });
    await hub.broadcast('to all', { channels: 'room:ex' });
    // Live, the excepted connection skips it.
    expect((await first.nextEvent()).data).toBe('to all');
    first.close();
    const back = await openSseStream(t.url, '/edges/rooms/ex', { headers: { 'last-event-id': seen.id! } });
    const events = await back.take(3);
    expect(dataOf(events.slice(0, 2))).toEqual(['not to the sender', 'to all']);
    expect(events[2]).toMatchObject({ event: 'you', data: expect.not.stringMatching(oldId) });
    back.close();
  });
});
