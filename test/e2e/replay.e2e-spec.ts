import { Controller } from '@nestjs/common';
import { drop } from './support/raw-http';
import { connect } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { EventSource } from 'eventsource';
import { SseClient, type SseGateway, SseHub, type SseReplayStatus, SseRoute } from 'nestjs-sse-hub';
import { InMemoryTransport, type SseHubMessage } from '../../src/internal';
import { openSseStream, type SseTestEvent } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

const HISTORY = 2000;
const joins: SseReplayStatus[] = [];

/** Holds the gated route's setup (registered in the hub, not yet replayed) until released. */
const gate = { entered: () => {}, released: Promise.resolve() };

@Controller('replay')
class ReplayController implements SseGateway {
  @SseRoute('rooms/:room', { channels: (req) => [`room:${req.params.room}`], retry: 10 })
  room() {}

  @SseRoute('gated', {
    channels: async () => {
      gate.entered();
      await gate.released;
      return ['room:a'];
    },
  })
  gated() {}

  @SseRoute('no-replay', { channels: ['room:a'], replay: false })
  noReplay() {}

  @SseRoute('capped', { channels: ['room:a'], replay: { limit: 2 } })
  capped() {}

  @SseRoute('custom-resync', { channels: ['room:a'], resyncEvent: 'snapshot-needed' })
  customResync() {}

  @SseRoute('handler-values', { channels: ['room:a'] })
  handlerValues() {
    return 'from the handler';
  }

  onJoin(client: SseClient) {
    joins.push(client.replay);
    if (client.replay === 'gap') return { event: 'snapshot', data: 'everything as of now' };
    return undefined;
  }

  onMessage(message: unknown, client: SseClient) {
    return client.request.params?.room === 'shout' ? { event: 'shout', data: message } : message;
  }
}

const ID = /^\d+-\d+$/;
const dataOf = (events: SseTestEvent[]) => events.map((event) => event.data);

describe('replay on reconnect', () => {
  let t: TestApp;
  let hub: SseHub;
  beforeAll(async () => {
    t = await startApp({ controllers: [ReplayController] }, { history: { size: HISTORY } });
    hub = t.app.get(SseHub);
  });
  afterAll(() => t.app.close());
  beforeEach(() => (joins.length = 0));
  afterEach(() => expect(t.logger.errors()).toEqual([]));

  async function broadcastAll(values: unknown[], channels = 'room:a') {
    for (const value of values) await hub.broadcast(value, { channels });
  }

  /** Opens a stream on room a, reads `count` events, and closes it: the last id it saw. */
  async function seeAndLeave(path: string, count: number, values: unknown[]) {
    const stream = await openSseStream(t.url, path);
    await broadcastAll(values);
    const events = await stream.take(count);
    stream.close();
    await stream.closed();
    return events;
  }

  it('gives hub events ordered ids, and none to what a handler sends', async () => {
    const stream = await openSseStream(t.url, '/replay/handler-values');
    expect(await stream.nextEvent()).toEqual({
      type: 'event',
      event: undefined,
      id: undefined,
      data: 'from the handler',
    });
    await broadcastAll(['one', 'two']);
    const [one, two] = await stream.take(2);
    expect(one.id).toMatch(ID);
    expect(two.id).toMatch(ID);
    expect(Number(two.id!.split('-')[0])).toBeGreaterThanOrEqual(Number(one.id!.split('-')[0]));
    expect(two.id).not.toBe(one.id);
    // An id of the caller's own would break replay: the hub's replaces it.
    await hub.broadcast({ id: 'mine', data: 'three' }, { channels: 'room:a' });
    expect((await stream.nextEvent()).id).toMatch(ID);
    stream.close();
  });

  it('replays what a client missed on its channels (Last-Event-ID header), then live events', async () => {
    const seen = await seeAndLeave('/replay/rooms/a', 2, ['a1', 'a2']);
    await broadcastAll(['a3', 'a4']);
    await broadcastAll(['b1'], 'room:b');
    const back = await openSseStream(t.url, '/replay/rooms/a', { headers: { 'last-event-id': seen[1].id! } });
    expect(dataOf(await back.take(2))).toEqual(['a3', 'a4']);
    await broadcastAll(['a5']);
    expect(dataOf(await back.take(1))).toEqual(['a5']);
    expect(joins).toEqual(['none', 'complete']);
    expect(back.received.some((m) => m.type === 'event' && m.event === 'resync')).toBe(false);
    back.close();
  });

  it('sends a broadcast once that arrives live while the history is read (held back, then deduplicated)', async () => {
    const seen = await seeAndLeave('/replay/rooms/a', 1, ['before']);
    let release!: () => void;
    gate.released = new Promise((resolve) => (release = resolve));
    const entered = new Promise<void>((resolve) => (gate.entered = resolve));
    const opening = openSseStream(t.url, '/replay/gated', { headers: { 'last-event-id': seen[0].id! } });
    await entered;
    // The client is in the hub but not replayed yet: this is held back live AND kept in history.
    await hub.broadcast('during');
    release();
    const back = await opening;
    await hub.broadcast('after');
    expect(dataOf(await back.take(2))).toEqual(['during', 'after']);
    back.close();
    gate.released = Promise.resolve();
  });

  it('takes the id from ?lastEventId= for polyfills, and the header wins over it', async () => {
    const seen = await seeAndLeave('/replay/rooms/a', 1, ['q1']);
    await broadcastAll(['q2']);
    const byQuery = await openSseStream(t.url, `/replay/rooms/a?lastEventId=${seen[0].id}`);
    expect(dataOf(await byQuery.take(1))).toEqual(['q2']);
    const both = await openSseStream(t.url, '/replay/rooms/a?lastEventId=garbage', {
      headers: { 'last-event-id': seen[0].id! },
    });
    expect(dataOf(await both.take(1))).toEqual(['q2']);
    byQuery.close();
    both.close();
  });

  it('says a gap first (id trimmed from history): resync with the id it sent, onJoin’s snapshot, then live', async () => {
    const seen = await seeAndLeave('/replay/rooms/a', 1, ['old']);
    await broadcastAll(Array.from({ length: HISTORY + 5 }, (_, n) => `filler ${n}`));
    const back = await openSseStream(t.url, '/replay/rooms/a', { headers: { 'last-event-id': seen[0].id! } });
    await broadcastAll(['live']);
    expect(await back.take(3)).toEqual([
      { type: 'event', event: 'resync', id: undefined, data: JSON.stringify({ lastEventId: seen[0].id }) },
      { type: 'event', event: 'snapshot', id: undefined, data: 'everything as of now' },
      expect.objectContaining({ data: 'live' }),
    ]);
    expect(joins.at(-1)).toBe('gap');
    back.close();
  });

  it.each([
    ['unknown', '1-0'],
    ['from the future', '99999999999999-0'],
    ['of a foreign format', 'abc'],
    ['too long', `1-${'0'.repeat(300)}`],
  ])('treats an id that is %s as a gap, never a 500', async (_what, id) => {
    const back = await openSseStream(t.url, '/replay/rooms/a', { headers: { 'last-event-id': id } });
    expect(back.status).toBe(200);
    expect(await back.nextEvent()).toEqual({
      type: 'event',
      event: 'resync',
      id: undefined,
      data: JSON.stringify({ lastEventId: id }),
    });
    back.close();
  });

  it('treats a Last-Event-ID that is not UTF-8 as a gap', async () => {
    const { port } = new URL(t.url);
    const response = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1');
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1');
        if (text.includes('event: resync')) {
          drop(socket);
          resolve(text);
        }
      });
      socket.on('error', reject);
      const head = Buffer.concat([
        Buffer.from('GET /replay/rooms/a HTTP/1.1\r\nHost: x\r\nLast-Event-ID: '),
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from('\r\n\r\n'),
      ]);
      socket.write(head);
    });
    expect(response).toMatch(/^HTTP\/1.1 200/);
    expect(response).toContain('event: resync');
  });

  it('does not replay on a route with history: false', async () => {
    const seen = await seeAndLeave('/replay/rooms/a', 1, ['n1']);
    await broadcastAll(['n2']);
    const back = await openSseStream(t.url, '/replay/no-replay', {
      headers: { 'last-event-id': seen[0].id! },
    });
    await broadcastAll(['n3']);
    expect(dataOf(await back.take(1))).toEqual(['n3']);
    expect(joins.at(-1)).toBe('none');
    back.close();
  });

  it('treats more missed events than the route’s history size as a gap', async () => {
    const seen = await seeAndLeave('/replay/rooms/a', 1, ['c1']);
    await broadcastAll(['c2', 'c3']);
    const withinCap = await openSseStream(t.url, '/replay/capped', {
      headers: { 'last-event-id': seen[0].id! },
    });
    expect(dataOf(await withinCap.take(2))).toEqual(['c2', 'c3']);
    await broadcastAll(['c4']);
    const overCap = await openSseStream(t.url, '/replay/capped', {
      headers: { 'last-event-id': seen[0].id! },
    });
    expect((await overCap.nextEvent()).event).toBe('resync');
    withinCap.close();
    overCap.close();
  });

  it('names the resync event as the route says', async () => {
    const back = await openSseStream(t.url, '/replay/custom-resync', { headers: { 'last-event-id': '1-0' } });
    expect((await back.nextEvent()).event).toBe('snapshot-needed');
    back.close();
  });

  it('keeps the hub id on what onMessage makes of a message, so Last-Event-ID still moves on', async () => {
    const stream = await openSseStream(t.url, '/replay/rooms/shout');
    await broadcastAll(['s1', 's2'], 'room:shout');
    const [first, second] = await stream.take(2);
    expect(first).toMatchObject({ event: 'shout', data: 's1', id: expect.stringMatching(ID) });
    stream.close();
    const back = await openSseStream(t.url, '/replay/rooms/shout', {
      headers: { 'last-event-id': first.id! },
    });
    expect(await back.nextEvent()).toEqual({ ...second, type: 'event' });
    back.close();
  });

  it('loses and doubles nothing while broadcasts race reconnects', async () => {
    const TOTAL = 1500;
    const CLIENTS = 6;
    let broadcasting = true;
    const sender = (async () => {
      for (let n = 0; n < TOTAL; n++) {
        await hub.broadcast({ n }, { channels: 'room:race' });
        if (n % 5 === 0) await nextTurn();
      }
      broadcasting = false;
    })();
    const clients = Array.from({ length: CLIENTS }, async (_, c) => {
      const got: number[] = [];
      let lastEventId: string | undefined;
      let reconnects = 0;
      while (got.at(-1) !== TOTAL - 1) {
        const stream = await openSseStream(t.url, '/replay/rooms/race', {
          headers: lastEventId ? { 'last-event-id': lastEventId } : {},
        });
        // Leave after a different number of events each time, mid-burst.
        const stay = 1 + ((c * 7 + reconnects * 13) % 40);
        for (let i = 0; i < stay && got.at(-1) !== TOTAL - 1; i++) {
          const event = await stream.nextEvent();
          got.push(JSON.parse(event.data).n);
          lastEventId = event.id;
        }
        stream.close();
        reconnects++;
      }
      return { got, reconnects };
    });
    const results = await Promise.all(clients);
    await sender;
    expect(broadcasting).toBe(false);
    for (const { got, reconnects } of results) {
      expect(reconnects).toBeGreaterThan(10);
      // From its first event on, every number once, in order.
      expect(got).toEqual(Array.from({ length: got.length }, (_, i) => got[0] + i));
    }
    expect(joins.filter((status) => status === 'gap')).toEqual([]);
  });

  it('a real EventSource client (the eventsource package) that the server keeps dropping ends up with every event exactly once', async () => {
    const TOTAL = 300;
    const source = new EventSource(`${t.url}/replay/rooms/es`);
    const got: number[] = [];
    let reconnects = 0;
    const done = new Promise<void>((resolve, reject) => {
      source.addEventListener('message', (event) => {
        got.push(JSON.parse(event.data).n);
        if (got.at(-1) === TOTAL - 1) resolve();
      });
      source.addEventListener('open', () => reconnects++);
      source.addEventListener('resync', () => reject(new Error('unexpected resync')));
    });
    try {
      await new Promise<void>((resolve) => source.addEventListener('open', () => resolve(), { once: true }));
      for (let n = 0; n < TOTAL; n++) {
        await hub.broadcast({ n }, { channels: 'room:es' });
        // End the stream at pseudo-random points; the client reconnects by itself (retry: 10 ms).
        if ((n * 37) % 23 === 0) for (const client of hub.clients('room:es')) client.close();
        if (n % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await done;
    } finally {
      source.close();
    }
    expect(reconnects).toBeGreaterThan(5);
    expect(got).toEqual(Array.from({ length: TOTAL }, (_, n) => n));
  });
});

/**
 * A transport whose live feed trails its history, as a Redis reader can trail the XRANGE
 * another connection just ran: `publish` stores at once, delivery waits for `flush()`.
 */
class TrailingTransport extends InMemoryTransport {
  private readonly late: SseHubMessage[] = [];
  private deliverNow: ((message: SseHubMessage) => void) | undefined;

  override subscribe(deliver: (message: SseHubMessage) => void): void {
    this.deliverNow = deliver;
    super.subscribe((message) => this.late.push(message));
  }

  flush(): void {
    for (const message of this.late.splice(0)) this.deliverNow!(message);
  }
}

describe('replay when the live feed trails the history', () => {
  const transport = new TrailingTransport();
  let t: TestApp;
  let hub: SseHub;
  beforeAll(async () => {
    t = await startApp({ controllers: [ReplayController] }, { transport });
    hub = t.app.get(SseHub);
  });
  afterAll(() => t.app.close());
  afterEach(() => expect(t.logger.errors()).toEqual([]));

  it('does not send again live what the replay already sent', async () => {
    const first = await openSseStream(t.url, '/replay/rooms/a');
    await hub.broadcast('seen', { channels: 'room:a' });
    transport.flush();
    const [seen] = await first.take(1);
    first.close();
    // Stored, so replayed from history, but not yet delivered live on this instance.
    for (const value of ['m1', 'm2', 'm3']) await hub.broadcast(value, { channels: 'room:a' });
    const back = await openSseStream(t.url, '/replay/rooms/a', { headers: { 'last-event-id': seen.id! } });
    expect(dataOf(await back.take(3))).toEqual(['m1', 'm2', 'm3']);
    // The live feed catches up, then moves on.
    transport.flush();
    await hub.broadcast('m4', { channels: 'room:a' });
    transport.flush();
    expect(dataOf(await back.take(1))).toEqual(['m4']);
    back.close();
  });
});
