// Imported, not global: the suite also runs as ES modules (NestJS 12), where `jest` is not injected.
import { jest } from '@jest/globals';
import { Controller, Injectable, Module, Param, Post, Body } from '@nestjs/common';
import { ConnectedClient, SseClient, SseEncodeError, SseHub, SseRoute } from 'nestjs-sse-hub';
import { openSseStream, SseTestStream } from 'nestjs-sse-hub/testing';
// The write path is internal: not a member of SseClient, nor exported by the package.
import { SseStream } from '../../src/connection/internal';
import { startApp, type TestApp } from './support/start-app';

@Controller('hub')
class HubController {
  @SseRoute('rooms/:room', { channels: async (req) => [`room:${req.params.room}`, 'all-rooms'] })
  room() {
    return undefined;
  }

  @SseRoute('lobby', { channels: ['lobby'] })
  lobby(@ConnectedClient() client: SseClient) {
    return { event: 'you', data: client.id };
  }

  @SseRoute('dynamic')
  dynamic(@ConnectedClient() client: SseClient) {
    client.join('first');
    return { event: 'you', data: client.id };
  }
}

/** A service in another module: SseHub is global. */
@Injectable()
class Notifier {
  constructor(readonly hub: SseHub) {}
}

@Controller('notify')
class NotifyController {
  constructor(private readonly notifier: Notifier) {}

  @Post(':room')
  notify(@Param('room') room: string, @Body() body: { text: string }) {
    return this.notifier.hub.broadcast({ event: 'note', data: body.text }, { channels: `room:${room}` });
  }
}

@Module({ providers: [Notifier], controllers: [NotifyController] })
class NotifyModule {}

describe('SseHub', () => {
  let t: TestApp;
  let hub: SseHub;
  const open: SseTestStream[] = [];
  const connect = async (path: string) => {
    const stream = await openSseStream(t.url, path);
    open.push(stream);
    return stream;
  };
  /** Waits until the hub has registered `count` clients (registration is async: channels, onJoin). */
  const registered = async (count: number, path: string) => {
    const streams = await Promise.all(Array.from({ length: count }, () => connect(path)));
    return streams;
  };

  beforeAll(async () => {
    t = await startApp({ controllers: [HubController], imports: [NotifyModule] });
    hub = t.app.get(SseHub);
  });
  afterAll(() => t.app.close());
  afterEach(async () => {
    for (const stream of open.splice(0)) {
      stream.close();
      await stream.closed();
    }
  });

  it('publishes a broadcast once per idempotency key, and refuses a key that is not a string', async () => {
    const [stream] = await registered(1, '/hub/lobby');
    await stream.nextEvent();
    await hub.broadcast({ event: 'b', data: 'once' }, { channels: 'lobby', idempotencyKey: 'k-1' });
    await hub.broadcast({ event: 'b', data: 'once' }, { channels: 'lobby', idempotencyKey: 'k-1' });
    await hub.broadcast({ event: 'b', data: 'next' }, { channels: 'lobby', idempotencyKey: 'k-2' });
    expect((await stream.take(2)).map((event) => event.data)).toEqual(['once', 'next']);
    await expect(hub.broadcast('x', { idempotencyKey: 42 as unknown as string })).rejects.toThrow(
      /idempotencyKey must be a non-empty string, got 42/,
    );
  });

  it('joins and leaves a client to and from channels by its id, as a POST handler on any instance would', async () => {
    const [stream] = await registered(1, '/hub/lobby');
    const id = (await stream.nextEvent()).data;
    await hub.join(id, ['news', 'sport']);
    expect(hub.clients('news').map((client) => client.id)).toEqual([id]);
    await hub.broadcast({ event: 'b', data: 'news 1' }, { channels: 'news' });
    await hub.leave(id, 'news');
    await hub.broadcast({ event: 'b', data: 'news 2' }, { channels: 'news' });
    await hub.broadcast({ event: 'b', data: 'sport 1' }, { channels: 'sport' });
    // After the leave, news 2 did not reach it: the next event is sport's.
    expect((await stream.take(2)).map((event) => event.data)).toEqual(['news 1', 'sport 1']);
    expect([...hub.clients()[0].channels].sort()).toEqual(['lobby', 'sport']);
    // An unknown id is nothing to do; channels that are not names are refused before anything is sent.
    await expect(hub.join('no-such-client', 'news')).resolves.toBeUndefined();
    await expect(hub.join(id, [42] as unknown as string[])).rejects.toThrow(
      /channels must be a channel name or a list of them, got \[42\]/,
    );
  });

  it('broadcasts to every client, or to the clients of a channel', async () => {
    const [a1, a2] = await registered(2, '/hub/rooms/a');
    const [b1] = await registered(1, '/hub/rooms/b');
    expect(hub.count()).toBe(3);
    expect(hub.count('room:a')).toBe(2);
    expect(hub.clients('room:b')).toHaveLength(1);
    await hub.broadcast('to a', { channels: 'room:a' });
    await hub.broadcast('to everyone');
    for (const stream of [a1, a2])
      expect((await stream.take(2)).map((e) => e.data)).toEqual(['to a', 'to everyone']);
    expect((await b1.nextEvent()).data).toBe('to everyone');
  });

  it('sends once to a client in several of the channels, and skips `except`', async () => {
    const [a] = await registered(1, '/hub/rooms/a');
    const lobby = await connect('/hub/lobby');
    const lobbyId = (await lobby.nextEvent()).data;
    await hub.broadcast('both', { channels: ['room:a', 'all-rooms'] });
    await hub.broadcast('not lobby', { channels: ['room:a', 'lobby'], except: lobbyId });
    await hub.broadcast('end');
    expect((await a.take(3)).map((e) => e.data)).toEqual(['both', 'not lobby', 'end']);
    expect((await lobby.nextEvent()).data).toBe('end');
  });

  it('sends to one client by id', async () => {
    const one = await connect('/hub/lobby');
    const other = await connect('/hub/lobby');
    const id = (await one.nextEvent()).data;
    await other.nextEvent();
    await hub.sendTo(id, { event: 'private', data: 'psst' });
    await hub.broadcast('public');
    expect(await one.take(2)).toEqual([
      expect.objectContaining({ event: 'private', data: 'psst' }),
      expect.objectContaining({ data: 'public' }),
    ]);
    expect((await other.nextEvent()).data).toBe('public');
  });

  it('follows client.join and client.leave', async () => {
    const stream = await connect('/hub/dynamic');
    const id = (await stream.nextEvent()).data;
    const client = hub.clients().find((c) => c.id === id)!;
    expect([...client.channels]).toEqual(['first']);
    client.join('second');
    client.leave('first');
    expect(hub.count('first')).toBe(0);
    await hub.broadcast('to first', { channels: 'first' });
    await hub.broadcast('to second', { channels: 'second' });
    expect((await stream.nextEvent()).data).toBe('to second');
  });

  it('encodes a broadcast once and writes the same bytes to every recipient', async () => {
    await registered(3, '/hub/rooms/a');
    const write = jest.spyOn(SseStream.prototype, 'write');
    try {
      await hub.broadcast({ event: 'same', data: { n: 1 } });
      const chunks = write.mock.calls.map(([chunk]) => chunk);
      expect(chunks).toHaveLength(3);
      expect(chunks[0]).toBeInstanceOf(Buffer);
      expect(chunks[1]).toBe(chunks[0]);
      expect(chunks[2]).toBe(chunks[0]);
    } finally {
      write.mockRestore();
    }
  });

  it('rejects a broadcast that cannot be encoded, and sends nothing', async () => {
    const [a] = await registered(1, '/hub/rooms/a');
    await expect(hub.broadcast({ event: 'two\nlines', data: 1 })).rejects.toBeInstanceOf(SseEncodeError);
    await expect(hub.sendTo('x', { id: 'nul\0', data: 1 })).rejects.toThrow(/NUL/);
    await hub.broadcast('fine');
    expect((await a.nextEvent()).data).toBe('fine');
  });

  it('can be injected anywhere and used from a plain POST route', async () => {
    const [a] = await registered(1, '/hub/rooms/a');
    const response = await fetch(`${t.url}/notify/a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'hello' }),
    });
    expect(response.status).toBe(201);
    expect(await a.nextEvent()).toMatchObject({ event: 'note', data: 'hello' });
  });
});
