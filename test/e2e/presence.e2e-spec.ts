import { Controller } from '@nestjs/common';
import { SseHub, SseRoute } from 'nestjs-sse-hub';
import { openSseStream, type SseTestStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

@Controller('presence')
class PresenceController {
  // GET /presence/:room?user=ann: the user is what presence() lists for the stream.
  @SseRoute(':room', {
    channels: (req) => `room:${req.params.room}`,
    presence: (client) => ({ user: client.request.query.user }),
    presenceEvents: true,
  })
  room() {}

  @SseRoute('quiet/:room', { channels: (req) => `room:${req.params.room}` })
  quiet() {}
}

describe('SseHub presence, and join and leave events (one instance)', () => {
  let t: TestApp;
  let hub: SseHub;
  const opened: SseTestStream[] = [];
  const open = async (path: string) => {
    const stream = await openSseStream(t.url, path);
    opened.push(stream);
    return stream;
  };

  beforeAll(async () => {
    t = await startApp({ controllers: [PresenceController] });
    hub = t.app.get(SseHub);
  });
  afterAll(() => t.app.close());
  afterEach(async () => {
    for (const stream of opened.splice(0)) stream.close();
    while (hub.count() > 0) await new Promise((resolve) => setImmediate(resolve));
  });

  it('lists every open stream, or those of a channel, with what the route said of each', async () => {
    const ann = await open('/presence/a?user=ann');
    const annJoin = await ann.nextEvent();
    const annId = JSON.parse(annJoin.data).id;
    expect(JSON.parse(annJoin.data)).toEqual({ channel: 'room:a', id: annId, info: { user: 'ann' } });
    await open('/presence/quiet/b');
    const all = await hub.presence();
    expect(all.count).toBe(2);
    expect(all.clients).toEqual(
      expect.arrayContaining([
        { id: annId, channels: ['room:a'], info: { user: 'ann' } },
        { id: expect.any(String), channels: ['room:b'], info: null },
      ]),
    );
    expect(await hub.presence('room:a')).toEqual({
      count: 1,
      clients: [{ id: annId, channels: ['room:a'], info: { user: 'ann' } }],
    });
    // join() from anywhere shows in presence too.
    await hub.join(annId, 'room:c');
    expect((await hub.presence('room:c')).clients.map((client) => client.id)).toEqual([annId]);
  });

  it('tells the members of a channel who joins and who leaves, with their info', async () => {
    const ann = await open('/presence/a?user=ann');
    const annId = JSON.parse((await ann.nextEvent()).data).id;
    const bob = await open('/presence/a?user=bob');
    const bobJoin = await ann.nextEvent();
    expect(bobJoin.event).toBe('join');
    const bobId = JSON.parse(bobJoin.data).id;
    expect(JSON.parse(bobJoin.data)).toEqual({ channel: 'room:a', id: bobId, info: { user: 'bob' } });
    expect((await bob.nextEvent()).event).toBe('join'); // its own
    bob.close();
    const left = await ann.nextEvent();
    expect(left.event).toBe('leave');
    expect(JSON.parse(left.data)).toEqual({ channel: 'room:a', id: bobId, info: { user: 'bob' } });
    await hub.leave(annId, 'room:a');
    expect((await hub.presence('room:a')).count).toBe(0);
  });

  it('refuses a presence option that is not a function, and presenceEvents that is not a boolean, when the route is declared', () => {
    expect(() => SseRoute('x', { presence: 'user' as never })).toThrow(
      /@SseRoute\(\): presence must be a function \(client\) => info, got "user"/,
    );
    expect(() => SseRoute('x', { presenceEvents: 'yes' as never })).toThrow(
      /presenceEvents must be true or false, got "yes"/,
    );
  });
});
