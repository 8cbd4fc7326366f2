import { HubMessageEncoder } from '../../../src/hub/hub-message-encoder';
import { type SseBroadcastMessage } from '../../../src/hub/sse-hub-message.interface';
import { type HistoryReader, StreamReplay } from '../../../src/hub/stream-replay';
import { FakeClient } from './support/fake-client';
import { broadcast } from './support/messages';

/** A history that hands over `messages` (as a paging transport does) and says `complete`. */
function historyOf(messages: SseBroadcastMessage[], asked: string[] = []): HistoryReader {
  return async (lastEventId, take) => {
    asked.push(lastEventId);
    for (const message of messages) if (!take(message)) return { status: 'gap' };
    return { status: 'complete', messages: [] };
  };
}

function replayOf(lastEventId: string, ...channels: string[]) {
  const fake = new FakeClient(lastEventId);
  channels.forEach((channel) => fake.channels.add(channel));
  const replay = new StreamReplay(fake.client, fake.stream);
  const sent: unknown[] = [];
  const release = () => replay.release((message) => sent.push(message.value));
  return { fake, replay, sent, release };
}

const encoder = new HubMessageEncoder();

describe('StreamReplay', () => {
  it("replays the missed broadcasts of the client's channels, then the live ones held meanwhile, and mutes those it replayed", async () => {
    const { fake, replay, sent, release } = replayOf('1700000000000-1', 'a');
    const missed = [broadcast('a2', ['a'], '1700000000000-2'), broadcast('b3', ['b'], '1700000000000-3')];
    const lastMissed = broadcast('a4', ['a'], '1700000000000-4');
    // A live message while the history is read: held.
    expect(replay.hold(broadcast('live5', ['a'], '1700000000000-5'), 10)).toBe(true);
    expect(await replay.read(historyOf([...missed, lastMissed]), encoder, Infinity)).toBe('complete');
    expect(fake.replay).toBe('complete');
    release();
    expect(sent).toEqual(['a2', 'a4', 'live5']);
    expect(fake.reserved).toBe(0);
    // After the release, nothing is held; a trailing live feed's copy of a replayed broadcast is muted...
    expect(replay.hold(broadcast('x', ['a']), 1)).toBe(false);
    expect(replay.replayedAlready(lastMissed)).toBe(true);
    // ...and the first new one ends the muting.
    expect(replay.replayedAlready(broadcast('new', ['a'], '1700000000000-6'))).toBe(false);
    expect(replay.replayedAlready(lastMissed)).toBe(false);
  });

  it('replays a channel joined after the read (in onJoin) too', async () => {
    const { fake, replay, sent, release } = replayOf('1700000000000-1', 'a');
    await replay.read(historyOf([broadcast('b2', ['b'], '1700000000000-2')]), encoder, Infinity);
    fake.channels.add('b');
    release();
    expect(sent).toEqual(['b2']);
  });

  it('is a gap, without asking the history, for an id that is not ours', async () => {
    const asked: string[] = [];
    const { fake, replay } = replayOf('not-an-id');
    expect(await replay.read(historyOf([], asked), encoder, Infinity)).toBe('gap');
    expect(asked).toEqual([]);
    expect(fake.replay).toBe('gap');
  });

  it('is a gap past the route limit, and the live broadcasts up to its Last-Event-ID are not sent again', async () => {
    const { replay, sent, release } = replayOf('1700000000000-9', 'a');
    const three = ['1700000000000-10', '1700000000000-11', '1700000000000-12'].map((id) =>
      broadcast(id, ['a'], id),
    );
    expect(await replay.read(historyOf(three), encoder, 2)).toBe('gap');
    release();
    expect(sent).toEqual([]);
    // A lagging reader's copy of what the client had is not new; a broadcast published after the gap is.
    const old = broadcast('old', ['a'], '1700000000000-8');
    old.publishedAt = 0;
    expect(replay.replayedAlready(old)).toBe(true);
    const fresh = broadcast('fresh', ['a'], '1700000000000-5');
    fresh.publishedAt = Date.now() + 60_000;
    expect(replay.replayedAlready(fresh)).toBe(false);
  });

  it('is a gap when the missed events are more bytes than the client may have pending', async () => {
    const { fake, replay } = replayOf('1700000000000-1', 'a');
    fake.maxPendingBytes = 100;
    const big = broadcast('x'.repeat(200), ['a'], '1700000000000-2');
    expect(await replay.read(historyOf([big]), encoder, Infinity)).toBe('gap');
    expect(fake.closed).toBe(false);
  });

  it('ends a client whose held messages pass its maxPendingBytes, as a slow consumer', () => {
    const { fake, replay } = replayOf('1700000000000-1', 'a');
    fake.maxPendingBytes = 15;
    expect(replay.hold(broadcast('1', ['a']), 10)).toBe(true);
    expect(replay.hold(broadcast('2', ['a']), 10)).toBe(true);
    expect(fake.reason).toBe('slow-consumer');
  });

  it('sends a resync when onJoin joined a channel whose broadcasts the read had no room for', async () => {
    const { fake, replay, release } = replayOf('1700000000000-1', 'a');
    fake.maxPendingBytes = 60;
    const others = ['1700000000000-2', '1700000000000-3'].map((id) => broadcast('y'.repeat(30), ['b'], id));
    expect(await replay.read(historyOf(others), encoder, Infinity)).toBe('complete');
    fake.channels.add('b');
    release();
    expect(fake.resyncs).toEqual([undefined]);
  });
});
