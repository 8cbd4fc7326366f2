// Imported, not global: the suite also runs as ES modules (NestJS 12), where `jest` is not injected.
import { jest } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { Socket } from 'node:net';
import { SseHub, SseRoute } from 'nestjs-sse-hub';
import { encodeEvent } from '../../src/internal';
import { openSseStream, SseTestStream } from 'nestjs-sse-hub/testing';
// The write path is internal: not a member of SseClient, nor exported by the package.
import { SseStream } from '../../src/connection/internal';
import { startApp, type TestApp } from './support/start-app';

@Controller('co')
class CoalescingController {
  @SseRoute('events', { keepAlive: false, replay: false })
  events() {}
}

describe('coalesced writes: one write per client per turn, every event intact and in order', () => {
  let t: TestApp;
  let hub: SseHub;
  let streams: SseTestStream[];
  beforeAll(async () => {
    t = await startApp({ controllers: [CoalescingController] }, { replay: false });
    hub = t.app.get(SseHub);
  });
  afterAll(() => t.app.close());
  beforeEach(async () => {
    streams = await Promise.all(Array.from({ length: 5 }, () => openSseStream(t.url, '/co/events')));
    while (hub.count() < 5) await new Promise((resolve) => setImmediate(resolve));
  });
  afterEach(() => streams.forEach((stream) => stream.close()));

  it('sends a burst of broadcasts made in one turn as one write per client, joined once for all of them', async () => {
    const writev = jest.spyOn(Socket.prototype as any, '_writev');
    const write = jest.spyOn(Socket.prototype as any, '_write');
    const concat = jest.spyOn(Buffer, 'concat');
    try {
      // Back to back in one synchronous turn, as a burst is.
      const sent = Array.from({ length: 20 }, (_, n) => hub.broadcast({ event: 'burst', data: { n } }));
      await Promise.all(sent);
      for (const stream of streams) await stream.take(20);
      // One socket write per client, where raw Node would make twenty (server sockets
      // only: the test's own clients write nothing meanwhile).
      expect(writev.mock.calls.length + write.mock.calls.length).toBe(streams.length);
      // The five clients got the same twenty events: their batch is joined once.
      expect(concat).toHaveBeenCalledTimes(1);
    } finally {
      for (const spy of [writev, write, concat]) spy.mockRestore();
    }
  });

  it('keeps every event whole, ending with its blank line, in order, byte for byte', async () => {
    const values = Array.from({ length: 50 }, (_, n) => ({
      event: 'e',
      data: `line ${n}\nsecond line of ${n}`,
    }));
    for (const value of values) void hub.broadcast(value);
    await new Promise((resolve) => setImmediate(resolve));
    for (const stream of streams) {
      const events = await stream.take(50);
      expect(events.map((event) => event.data)).toEqual(values.map((value) => value.data));
      // Exactly the events as encoded one by one (with the ids the hub gave them), back to back.
      expect(stream.body).toBe(
        values.map((value, n) => encodeEvent({ ...value, id: events[n].id })).join(''),
      );
    }
  });

  it('still sends a lone broadcast in the same tick', async () => {
    const flush = jest.spyOn(SseStream.prototype, 'flush');
    try {
      await hub.broadcast('alone');
      // Flushed by the microtask that ran before this await returned, not a turn later.
      expect(flush).toHaveBeenCalledTimes(5);
    } finally {
      flush.mockRestore();
    }
    for (const stream of streams) expect((await stream.nextEvent()).data).toBe('alone');
  });
});
