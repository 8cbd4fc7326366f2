import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { type SseHub } from 'nestjs-sse-hub';
import { type SseTestStream } from 'nestjs-sse-hub/testing';
import { within } from './instance-process';

/** A `join` or `leave` event as a stream reads it, its data parsed. */
export interface PresenceEvent {
  event: string;
  data: { channel: string; id: string; info: unknown };
}

/** Reads a stream's events until a `join` or `leave` of the stream `id` (the others of any kind are passed over). */
export async function nextPresenceEvent(stream: SseTestStream, id: string): Promise<PresenceEvent> {
  for (;;) {
    const event = await stream.nextEvent();
    if (event.event !== 'join' && event.event !== 'leave') continue;
    const data = JSON.parse(event.data) as PresenceEvent['data'];
    if (data.id === id) return { event: event.event, data };
  }
}

/** The `join` and `leave` events of the stream `id` that a stream reads before an event whose data is `marker`. */
export async function presenceEventsBefore(
  stream: SseTestStream,
  id: string,
  marker: string,
): Promise<PresenceEvent[]> {
  const seen: PresenceEvent[] = [];
  for (;;) {
    const event = await stream.nextEvent();
    if (event.data === marker) return seen;
    if (event.event !== 'join' && event.event !== 'leave') continue;
    const data = JSON.parse(event.data) as PresenceEvent['data'];
    if (data.id === id) seen.push({ event: event.event, data });
  }
}

/** Opens a stream of the route of instance.child.js (`/p/:room`, presenceEvents) and reads its own join: its id. */
export async function openMember(
  open: (base: string, path: string) => Promise<SseTestStream>,
  base: string,
  room: string,
  user: string,
) {
  const stream = await open(base, `/p/${room}?user=${user}`);
  for (;;) {
    const event = await stream.nextEvent();
    const data = JSON.parse(event.data);
    if (event.event === 'join' && data.info?.user === user) return { stream, id: data.id as string };
  }
}

/**
 * Two live instances (A, B) and one in a process of its own, on the same transport, all
 * with the route of instance.child.js: a stream on the doomed one, in room:x and room:y,
 * leaves both when its process is killed without a goodbye, and the members of each
 * (one on A in room:x, one on B in room:y) hear it exactly once, however many live
 * instances notice the death.
 */
export async function expectOneLeavePerChannelOfAKilledInstance(
  live: [{ url: string; hub: SseHub }, { url: string }],
  doomed: { url: string; child: ChildProcess },
  ttl: number,
  open: (base: string, path: string) => Promise<SseTestStream>,
): Promise<void> {
  const [a, b] = live;
  const ann = await openMember(open, a.url, 'x', 'ann');
  const cyd = await openMember(open, b.url, 'y', 'cyd');
  const bob = await openMember(open, doomed.url, 'x', 'bob');
  await a.hub.join(bob.id, 'room:y');
  const bobIn = (event: string, channel: string) => ({
    event,
    data: { channel, id: bob.id, info: { user: 'bob' } },
  });
  expect(await nextPresenceEvent(ann.stream, bob.id)).toEqual(bobIn('join', 'room:x'));
  expect(await nextPresenceEvent(cyd.stream, bob.id)).toEqual(bobIn('join', 'room:y'));
  // Killed once its presence says room:y too (written beside the join event, not before it): what it had not written, no one can announce.
  await within(5_000, 'presence shows bob in room:y', async () =>
    (await a.hub.presence('room:y')).clients.some((client) => client.id === bob.id),
  );
  doomed.child.kill('SIGKILL');
  await once(doomed.child, 'exit');
  const killed = Date.now();
  // Bounded by the streams' timeout: without a leave, a member list built from events keeps bob for good.
  expect(await nextPresenceEvent(ann.stream, bob.id)).toEqual(bobIn('leave', 'room:x'));
  expect(await nextPresenceEvent(cyd.stream, bob.id)).toEqual(bobIn('leave', 'room:y'));
  console.log(
    `presence: the leave events of a killed instance's stream came after ${Date.now() - killed} ms (presenceTtl ${ttl} ms)`,
  );
  // No second one: by now each live instance has beaten about three more times and found the dead one gone (what is awaited is a clock).
  await new Promise((resolve) => setTimeout(resolve, ttl));
  await a.hub.broadcast({ event: 'marker', data: 'end' }, { channels: ['room:x', 'room:y'] });
  expect(await presenceEventsBefore(ann.stream, bob.id, 'end')).toEqual([]);
  expect(await presenceEventsBefore(cyd.stream, bob.id, 'end')).toEqual([]);
}

/**
 * An instance whose event loop stops for longer than the TTL (SIGSTOP) is taken for dead:
 * its stream drops out of presence and its members hear it leave; back (SIGCONT), it
 * writes its stream again and they hear it join.
 */
export async function expectLeaveThenJoinOfAPausedInstance(
  a: { url: string; hub: SseHub },
  paused: { url: string; child: ChildProcess },
  open: (base: string, path: string) => Promise<SseTestStream>,
): Promise<void> {
  const ann = await openMember(open, a.url, 'x', 'ann');
  const bob = await openMember(open, paused.url, 'x', 'bob');
  await within(5_000, 'both in presence', async () => (await a.hub.presence('room:x')).count === 2);
  const bobIn = (event: string) => ({
    event,
    data: { channel: 'room:x', id: bob.id, info: { user: 'bob' } },
  });
  expect(await nextPresenceEvent(ann.stream, bob.id)).toEqual(bobIn('join'));
  paused.child.kill('SIGSTOP');
  await within(
    10_000,
    'the paused instance was taken for dead',
    async () => (await a.hub.presence('room:x')).count === 1,
  );
  expect(await nextPresenceEvent(ann.stream, bob.id)).toEqual(bobIn('leave'));
  // Out of its user's presence too (the index a user query reads was cleared with the rest).
  expect(await a.hub.presence({ user: 'bob' })).toEqual({ count: 0, clients: [] });
  paused.child.kill('SIGCONT');
  await within(
    10_000,
    'its stream is back in presence',
    async () => (await a.hub.presence('room:x')).count === 2,
  );
  expect(await nextPresenceEvent(ann.stream, bob.id)).toEqual(bobIn('join'));
  // ...and in its user's: written again whole.
  await within(5_000, "its stream is back in its user's presence", async () => {
    const { clients } = await a.hub.presence({ user: 'bob' });
    return clients.length === 1 && clients[0].id === bob.id && clients[0].user === 'bob';
  });
}
