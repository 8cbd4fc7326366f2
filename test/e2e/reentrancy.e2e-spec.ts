import { Controller } from '@nestjs/common';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  ConnectedClient,
  SseClient,
  type SseCloseReason,
  type SseGateway,
  SseHub,
  SseRoute,
} from 'nestjs-sse-hub';
import { openSseStream, type SseTestEvent, type SseTestStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

/**
 * Hooks that call the hub back while it is delivering: an onClose that broadcasts, sends
 * and closes (a slow consumer is cut off in the middle of a burst), an onMessage that
 * broadcasts and sends, an onJoin that broadcasts. Every client must still see the hub's
 * events in id order, each once.
 */
let hub: SseHub;
const closes: Array<[string, SseCloseReason]> = [];
const victims: string[] = [];

@Controller('re')
class ReentrantController implements SseGateway {
  @SseRoute('feed', { channels: ['feed'], keepAlive: false, maxPendingBytes: 16 * 1024 })
  feed(@ConnectedClient() client: SseClient) {
    return { event: 'you', data: client.id };
  }

  async onJoin(client: SseClient) {
    await hub.broadcast({ event: 'joined', data: client.id }, { channels: 'feed' });
    return undefined;
  }

  onMessage(message: { event: string; data: unknown }, client: SseClient) {
    if (message.event === 'poke') {
      // Both re-enter the hub while the poke is still being delivered to the others.
      void hub.broadcast({ event: 'echo', data: client.id }, { channels: 'feed' });
      void hub.sendTo(client.id, { event: 'pong', data: 'only you' });
    }
    return message;
  }

  onClose(client: SseClient, reason: SseCloseReason) {
    closes.push([client.id, reason]);
    void hub.broadcast({ event: 'left', data: client.id }, { channels: 'feed' });
    const victim = victims.shift();
    if (victim) {
      void hub.sendTo(victim, { event: 'bye', data: 'closing you' });
      void hub.close(victim);
    }
  }
}

function compareIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(Number);
  const [bMs, bSeq] = b.split('-').map(Number);
  return aMs - bMs || aSeq - bSeq;
}

/** The hub events (those with ids) of a stream, checked to be in strictly increasing id order. */
function expectIdOrder(events: SseTestEvent[]): void {
  const ids = events.filter((event) => event.id !== undefined).map((event) => event.id!);
  for (let i = 1; i < ids.length; i++) {
    if (compareIds(ids[i - 1], ids[i]) >= 0)
      throw new Error(`ids out of order at ${i}: ${ids[i - 1]} then ${ids[i]}`);
  }
}

async function readUntil(
  stream: SseTestStream,
  done: (event: SseTestEvent) => boolean,
): Promise<SseTestEvent[]> {
  const events: SseTestEvent[] = [];
  for (;;) {
    const event = await stream.nextEvent();
    events.push(event);
    if (done(event)) return events;
  }
}

describe('hooks that re-enter the hub', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ controllers: [ReentrantController] });
    hub = t.app.get(SseHub);
  });
  afterAll(() => t.app.close());
  beforeEach(() => {
    closes.length = 0;
    victims.length = 0;
  });

  async function join(): Promise<{ stream: SseTestStream; id: string }> {
    const stream = await openSseStream(t.url, '/re/feed', { timeout: 20_000 });
    const you = await stream.nextEvent();
    return { stream, id: you.data };
  }

  it('an onClose that broadcasts, sends and closes while a burst cuts off slow consumers: every reader gets ids in order, each once', async () => {
    // The stalled ones first: in the channel's order they come before the readers, so their
    // onClose runs in the middle of a delivery that the readers are still waiting for.
    const stalled = await Promise.all(Array.from({ length: 3 }, () => join()));
    for (const { stream } of stalled) stream.pause();
    const doomed = await join();
    victims.push(doomed.id);
    const readers = await Promise.all(Array.from({ length: 4 }, () => join()));
    const padding = 'z'.repeat(1000);
    let sent = 0;
    while (
      closes.filter(([, reason]) => reason === 'slow-consumer').length < stalled.length &&
      sent < 40_000
    ) {
      await hub.broadcast({ event: 'n', data: { n: sent++, padding } }, { channels: 'feed' });
      if (sent % 10 === 0) await nextTurn();
    }
    await hub.broadcast({ event: 'end', data: 'end' }, { channels: 'feed' });
    expect(closes.filter(([, reason]) => reason === 'slow-consumer')).toHaveLength(stalled.length);
    for (const { stream } of readers) {
      const events = await readUntil(stream, (event) => event.event === 'end');
      expectIdOrder(events);
      const numbers = events.filter((event) => event.event === 'n').map((event) => JSON.parse(event.data).n);
      expect(numbers).toEqual(Array.from({ length: sent }, (_, n) => n));
      // Each slow consumer's and the victim's leaving was said once.
      const left = events.filter((event) => event.event === 'left').map((event) => event.data);
      expect(new Set(left).size).toBe(left.length);
      expect(left).toEqual(expect.arrayContaining([...stalled.map(({ id }) => id), doomed.id]));
      stream.close();
    }
    // The victim got its goodbye, then was closed.
    const doomedEvents: SseTestEvent[] = [];
    for await (const event of doomed.stream) doomedEvents.push(event);
    expectIdOrder(doomedEvents);
    expect(doomedEvents.at(-1)).toMatchObject({ event: 'bye' });
    for (const { stream } of stalled) stream.close();
  });

  it('an onMessage that broadcasts and sends while the message is being delivered: echoes come after the poke, in id order', async () => {
    const clients = await Promise.all(Array.from({ length: 5 }, () => join()));
    await hub.broadcast({ event: 'poke', data: 'poke' }, { channels: 'feed' });
    await hub.broadcast({ event: 'end', data: 'end' }, { channels: 'feed' });
    for (const { stream } of clients) {
      const events = await readUntil(stream, (event) => event.event === 'end');
      expectIdOrder(events);
      const names = events.map((event) => event.event);
      // The poke first; every client's echo after it; its own pong somewhere after the poke.
      expect(names.indexOf('poke')).toBeLessThan(names.indexOf('echo'));
      expect(names.filter((name) => name === 'echo')).toHaveLength(clients.length);
      expect(names.filter((name) => name === 'pong')).toHaveLength(1);
      stream.close();
    }
  });

  it('an onJoin that broadcasts while others join: everyone sees the joins in id order', async () => {
    const first = await join();
    const others = await Promise.all(Array.from({ length: 6 }, () => join()));
    await hub.broadcast({ event: 'end', data: 'end' }, { channels: 'feed' });
    const events = await readUntil(first.stream, (event) => event.event === 'end');
    expectIdOrder(events);
    expect(events.filter((event) => event.event === 'joined').map((event) => event.data)).toEqual(
      expect.arrayContaining(others.map(({ id }) => id)),
    );
    for (const { stream } of [first, ...others]) stream.close();
  });
});
