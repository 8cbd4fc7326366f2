import {
  type BroadcastRecord,
  checkTrace,
  type ClientTrace,
  type CloseUserRecord,
  presenceProblems,
  type ReceivedEvent,
  type SegmentTrace,
  type Trace,
} from '../e2e/support/fault-checker';

/**
 * The fault matrix's checker on hand-made traces: it must fail each broken invariant
 * (else a green matrix means nothing), and pass what is allowed (a loss with a resync,
 * a refused broadcast that arrived once or not at all).
 */

/** `A.0`, `A.1`…: broadcasts called by `source` one after another, each acknowledged before the next was called. */
function calls(
  source: string,
  count: number,
  from = 1000,
  overrides: Partial<BroadcastRecord> = {},
): BroadcastRecord[] {
  return Array.from({ length: count }, (_, index) => ({
    value: `${source}.${index}`,
    source,
    index,
    channels: ['x'],
    calledAt: from + index * 10,
    settledAt: from + index * 10 + 5,
    outcome: 'accepted' as const,
    ...overrides,
  }));
}

let nextId = 1;
/** The events a client got: its hello, then `data` in this order (a `resync` entry is a resync), ids increasing. */
function received(data: string[], segment = 0, at = 2000): ReceivedEvent[] {
  return [
    { event: 'hello', data: `c${segment}`, at: 900, segment },
    ...data.map((value, i) =>
      value === 'resync'
        ? { event: 'resync', data: '{}', at: at + i, segment }
        : { event: 'n', id: `${nextId++}-0`, data: value, at: at + i, segment },
    ),
  ];
}

function client(events: ReceivedEvent[], overrides: Partial<ClientTrace> = {}): ClientTrace {
  return {
    name: 'c',
    channels: ['x'],
    segments: [{ instance: 'A', openedAt: 800, helloAt: 900, clientId: 'c0' }],
    events,
    reachedEnd: true,
    ...overrides,
  };
}

function trace(broadcasts: BroadcastRecord[], clients: ClientTrace[], overrides: Partial<Trace> = {}): Trace {
  return {
    faultsStoppedAt: 5000,
    settleBoundMs: 10_000,
    broadcasts,
    clients,
    instances: [{ name: 'A', alive: true }],
    presence: [],
    ...overrides,
  };
}

const invariants = (t: Trace) => checkTrace(t).map((violation) => violation.invariant);

describe('the fault matrix checker', () => {
  // A calls at 1000, 1010, 1020, 1030; B at 1012, 1022: each acknowledged 5 ms after its call.
  const sent = [...calls('A', 4), ...calls('B', 2, 1012)];
  const inOrder = ['A.0', 'B.0', 'A.1', 'A.2', 'B.1', 'A.3'];

  it('passes a run where every client got every accepted broadcast once, in order', () => {
    expect(checkTrace(trace(sent, [client(received(inOrder))]))).toEqual([]);
  });

  it('fails an out-of-order trace (one source), and one against the acknowledgements (two sources)', () => {
    expect(invariants(trace(sent, [client(received(['A.0', 'B.0', 'A.2', 'A.1', 'B.1', 'A.3']))]))).toEqual([
      'call order',
    ]);
    // B.0 was acknowledged (1017) before A.2 was called (1020): A.2 cannot come first.
    expect(invariants(trace(sent, [client(received(['A.0', 'A.1', 'A.2', 'B.0', 'B.1', 'A.3']))]))).toEqual([
      'causal order',
    ]);
  });

  it('fails a lost accepted broadcast without a resync, and passes it with a resync in the right place', () => {
    expect(invariants(trace(sent, [client(received(['A.0', 'B.0', 'A.2', 'B.1', 'A.3']))]))).toEqual([
      'exactly once',
    ]);
    expect(
      checkTrace(trace(sent, [client(received(['A.0', 'B.0', 'resync', 'A.2', 'B.1', 'A.3']))])),
    ).toEqual([]);
    // A resync before A.0 (which must precede A.1) does not cover A.1.
    expect(
      invariants(trace(sent, [client(received(['resync', 'A.0', 'B.0', 'A.2', 'B.1', 'A.3']))])),
    ).toEqual(['exactly once']);
  });

  it('fails a duplicate, also of two calls with one idempotency key, unless a resync came between those', () => {
    expect(
      invariants(trace(sent, [client(received(['A.0', 'B.0', 'A.1', 'A.1', 'A.2', 'B.1', 'A.3']))])),
    ).toEqual(['exactly once', 'call order']);
    const refused = {
      key: 'k',
      outcome: 'rejected' as const,
      refusals: ['SseTransportUnavailableError'],
      error: { name: 'SseTransportUnavailableError', message: 'away' },
    };
    // B.0 refused, C.0 accepted, with one key; then E.0, which must follow C.0.
    const keyed = [
      ...calls('A', 2),
      ...calls('B', 1, 1100, refused),
      ...calls('C', 1, 1200, { key: 'k' }),
      ...calls('E', 1, 1300),
    ];
    expect(invariants(trace(keyed, [client(received(['A.0', 'A.1', 'B.0', 'C.0']))]))).toEqual([
      'exactly once',
    ]);
    expect(checkTrace(trace(keyed, [client(received(['A.0', 'A.1', 'B.0', 'resync', 'C.0']))]))).toEqual([]);
    // Where a key lives as long as its message is kept (PostgreSQL), it may be forgotten once the other is maxLen positions later.
    const later = [...keyed.slice(0, 3), ...calls('F', 3, 1120), ...keyed.slice(3)];
    const apart = () => received(['A.0', 'A.1', 'B.0', 'F.0', 'F.1', 'F.2', 'C.0']);
    expect(checkTrace(trace(later, [client(apart())], { keyForgottenAfter: 4 }))).toEqual([]);
    expect(invariants(trace(later, [client(apart())], { keyForgottenAfter: 5 }))).toEqual(['exactly once']);
    // One of them, either: the key's broadcast arrived once.
    expect(checkTrace(trace(keyed, [client(received(['A.0', 'A.1', 'B.0']))]))).toEqual([]);
    expect(checkTrace(trace(keyed, [client(received(['A.0', 'A.1', 'C.0']))]))).toEqual([]);
    expect(invariants(trace(keyed, [client(received(['A.0', 'A.1', 'E.0']))]))).toEqual(['exactly once']);
    // Which attempt of a key is published is not known: one that does not reach the client makes the key's broadcast not owed to it.
    const elsewhere = keyed.map((record) =>
      record.value === 'C.0' ? { ...record, channels: ['y'] } : record,
    );
    expect(checkTrace(trace(elsewhere, [client(received(['A.0', 'A.1', 'E.0']))]))).toEqual([]);
    // Nor is one whose first attempt (which may have published it) came before the client's hello (900).
    const early = keyed.map((record) => (record.value === 'B.0' ? { ...record, calledAt: 850 } : record));
    expect(checkTrace(trace(early, [client(received(['A.0', 'A.1', 'E.0']))]))).toEqual([]);
  });

  it('allows a refused broadcast to arrive once or not at all, never a rolled-back one', () => {
    const refused = calls('A', 3).map((record, i) =>
      i === 1
        ? {
            ...record,
            outcome: 'rejected' as const,
            error: { name: 'SseTransportUnavailableError', message: 'away' },
            refusals: ['SseTransportUnavailableError'],
          }
        : record,
    );
    expect(checkTrace(trace(refused, [client(received(['A.0', 'A.2']))]))).toEqual([]);
    expect(checkTrace(trace(refused, [client(received(['A.0', 'A.1', 'A.2']))]))).toEqual([]);
    const rolledBack = refused.map((record) =>
      record.value === 'A.1' ? { ...record, outcome: 'rolled-back' as const } : record,
    );
    expect(invariants(trace(rolledBack, [client(received(['A.0', 'A.1', 'A.2']))]))).toEqual([
      'exactly once',
    ]);
  });

  it('fails ids that do not increase, and an event with no id', () => {
    const events = received(inOrder);
    events[3].id = events[2].id;
    expect(invariants(trace(sent, [client(events)]))).toEqual(['ids']);
    delete events[3].id;
    expect(invariants(trace(sent, [client(events)]))).toEqual(['ids']);
  });

  it('checks across a reconnect with Last-Event-ID: exactly once, or a resync; a reconnect without one starts afresh', () => {
    const first = received(['A.0', 'A.1']);
    const segments = [
      { instance: 'A', openedAt: 800, helloAt: 900, clientId: 'c0', endedAt: 1500, endedBy: 'test' as const },
      { instance: 'B', openedAt: 1600, helloAt: 1700, clientId: 'c1', lastEventId: first[2].id },
    ];
    const again = (data: string[]) => [...first, ...received(data, 1, 3000)];
    expect(checkTrace(trace(sent, [client(again(['B.0', 'A.2', 'B.1', 'A.3']), { segments })]))).toEqual([]);
    expect(
      invariants(trace(sent, [client(again(['A.1', 'B.0', 'A.2', 'B.1', 'A.3']), { segments })])),
    ).toEqual(['exactly once', 'call order']);
    expect(invariants(trace(sent, [client(again(['B.1', 'A.3']), { segments })]))).toEqual([
      'exactly once',
      'exactly once',
    ]);
    expect(checkTrace(trace(sent, [client(again(['resync', 'B.1', 'A.3']), { segments })]))).toEqual([]);
    // Without a Last-Event-ID the second connection starts a new chain: what was called before its hello (1700) is not owed.
    const fresh = [segments[0], { ...segments[1], lastEventId: undefined }];
    const later = [
      ...calls('A', 2),
      ...calls('A', 2, 1800).map((record, i) => ({ ...record, value: `A.${i + 2}`, index: i + 2 })),
    ];
    expect(
      checkTrace(
        trace(later, [client([...first, ...received(['A.2', 'A.3'], 1, 3000)], { segments: fresh })]),
      ),
    ).toEqual([]);
    expect(
      invariants(trace(later, [client([...first, ...received(['A.3'], 1, 3000)], { segments: fresh })])),
    ).toEqual(['exactly once']);
  });

  it('fails a broadcast left pending or settled too late, an unencodable value accepted, a refusal of the wrong kind', () => {
    const [a, b, c, d] = calls('A', 4);
    const bad = [
      { ...a, outcome: 'pending' as const, settledAt: undefined },
      { ...b, settledAt: 5000 + 10_001 },
      { ...c, unencodable: true },
      {
        ...d,
        outcome: 'rejected' as const,
        error: { name: 'DatabaseError', message: 'deadlock detected' },
        refusals: ['SseTransportUnavailableError'],
      },
    ];
    expect(invariants(trace(bad, [client(received(['A.1']))]))).toEqual([
      'settles',
      'settles',
      'refuses unencodable',
      'refusal',
    ]);
  });

  it('fails a client that never got the end, a channel it is not in, an instance that died or grew', () => {
    const elsewhere = calls('A', 1, 1000, { channels: ['y'] });
    expect(invariants(trace(elsewhere, [client(received(['A.0']), { reachedEnd: false })]))).toEqual([
      'reaches the end',
      'channels',
    ]);
    const instances = [
      { name: 'A', alive: false, why: 'exited with 1' },
      { name: 'B', alive: true, heapBytes: 300e6, heapBound: 200e6 },
    ];
    expect(invariants(trace([], [], { instances }))).toEqual(['alive', 'memory']);
  });

  describe('with users', () => {
    // A.0 to everyone in x; A.1 to u1; A.2 to u2 (in any channel); A.3 to u1 and u2 in y; A.4 to everyone in x.
    const addressed = calls('A', 5).map((record, i) =>
      i === 1
        ? { ...record, users: ['u1'] }
        : i === 2
          ? { ...record, channels: undefined, users: ['u2'] }
          : i === 3
            ? { ...record, channels: ['y'], users: ['u1', 'u2'] }
            : record,
    );
    const of = (user: string | undefined, data: string[], overrides: Partial<ClientTrace> = {}) =>
      client(received(data), { user, ...overrides });

    it("passes each stream its user's broadcasts, and a stream without a user none of them", () => {
      expect(
        checkTrace(
          trace(addressed, [
            of('u1', ['A.0', 'A.1', 'A.4']),
            of('u2', ['A.0', 'A.2', 'A.4']),
            of('u2', ['A.2', 'A.3'], { channels: ['y'] }),
            of(undefined, ['A.0', 'A.4']),
          ]),
        ),
      ).toEqual([]);
    });

    it("fails a leak: another user's broadcast, or one to users on a stream without a user", () => {
      expect(invariants(trace(addressed, [of('u2', ['A.0', 'A.1', 'A.2', 'A.4'])]))).toEqual(['users']);
      expect(invariants(trace(addressed, [of(undefined, ['A.0', 'A.2', 'A.4'])]))).toEqual(['users']);
      // Matching a channel does not make it the stream's: A.3 is u1's and u2's, in y.
      expect(invariants(trace(addressed, [of('u3', ['A.3'], { channels: ['y'] })]))).toEqual(['users']);
    });

    it("fails a leak replayed to a thief, whose Last-Event-ID was taken from another user's stream", () => {
      const segments = [
        {
          instance: 'B',
          openedAt: 1100,
          helloAt: 1101,
          clientId: 't0',
          lastEventId: '1-0',
          stolenFrom: 'c0',
        },
      ];
      const thief = (data: string[]) => of('u2', data, { name: 't', segments });
      expect(checkTrace(trace(addressed, [thief(['A.2', 'A.4'])]))).toEqual([]);
      const violations = checkTrace(trace(addressed, [thief(['A.1', 'A.2', 'A.4'])]));
      expect(violations.map((violation) => violation.invariant)).toEqual(['users']);
      expect(violations[0].detail).toMatch(/replayed.*taken from c0's stream/);
    });

    it("fails a loss of a user's broadcast on one of its streams, unless a resync came between", () => {
      expect(invariants(trace(addressed, [of('u1', ['A.0', 'A.4'])]))).toEqual(['exactly once']);
      expect(invariants(trace(addressed, [of('u2', ['A.0', 'A.4'])]))).toEqual(['exactly once']);
      expect(
        invariants(trace(addressed, [of('u2', ['A.0', 'A.2', 'A.4'], { channels: ['x', 'y'] })])),
      ).toEqual(['exactly once']);
      expect(checkTrace(trace(addressed, [of('u1', ['A.0', 'resync', 'A.4'])]))).toEqual([]);
      // Not another user's, nor one a stream without a user never gets.
      expect(checkTrace(trace(addressed, [of('u3', ['A.0', 'A.4']), of(undefined, ['A.0', 'A.4'])]))).toEqual(
        [],
      );
    });

    it("fails a user's stream that an accepted closeUser left open, unless it ended, or got a resync", () => {
      // Called after A.2 (1020), accepted before A.3 (1030) and A.4 (1040) were called.
      const close: CloseUserRecord = {
        user: 'u1',
        from: 'B',
        calledAt: 1024,
        settledAt: 1028,
        outcome: 'accepted',
      };
      const closes = [close];
      const open = [{ instance: 'A', openedAt: 800, helloAt: 900, clientId: 'c0' }];
      const u1 = (segments: SegmentTrace[], events: ReceivedEvent[]) => of('u1', [], { segments, events });
      // Still open at the end, having got A.4 after the close: twice wrong, said once.
      expect(invariants(trace(addressed, [u1(open, received(['A.0', 'A.1', 'A.4']))], { closes }))).toEqual([
        'close-user',
      ]);
      // Closed by the client (a hop): fine before anything called after the close came, not after A.4 came.
      const hopped = [{ ...open[0], endedAt: 3000, endedBy: 'test' as const }];
      expect(checkTrace(trace(addressed, [u1(hopped, received(['A.0', 'A.1']))], { closes }))).toEqual([]);
      expect(invariants(trace(addressed, [u1(hopped, received(['A.0', 'A.1', 'A.4']))], { closes }))).toEqual(
        ['close-user'],
      );
      // Ended by the server, and back with its last id: A.4 on the new connection.
      const first = received(['A.0', 'A.1']);
      const ended = [
        { ...open[0], endedAt: 2500, endedBy: 'server' as const },
        { instance: 'A', openedAt: 2600, helloAt: 2700, clientId: 'c1', lastEventId: first[2].id },
      ];
      const back = [u1(ended, [...first, ...received(['A.4'], 1, 3000)])];
      expect(checkTrace(trace(addressed, back, { closes }))).toEqual([]);
      // As server-closed, where its instance says why it ended it.
      const reasons = (endReasons: Record<string, string>) => ({ closes, endReasons: { A: endReasons } });
      expect(checkTrace(trace(addressed, back, reasons({ c0: 'server-closed' })))).toEqual([]);
      expect(invariants(trace(addressed, back, reasons({ c0: 'slow-consumer' })))).toEqual(['close-user']);
      expect(invariants(trace(addressed, back, reasons({})))).toEqual(['close-user']);
      // A resync excuses it: its instance may have missed the close.
      expect(
        checkTrace(trace(addressed, [u1(open, received(['A.0', 'A.1', 'resync', 'A.4']))], { closes })),
      ).toEqual([]);
      // Another user's streams, a refused call, and a stream greeted after the call are not its.
      expect(checkTrace(trace(addressed, [of('u2', ['A.0', 'A.2', 'A.4'])], { closes }))).toEqual([]);
      const openAtEnd = [u1(open, received(['A.0', 'A.1', 'A.4']))];
      expect(
        checkTrace(trace(addressed, openAtEnd, { closes: [{ ...close, outcome: 'rejected' }] })),
      ).toEqual([]);
      expect(checkTrace(trace(addressed, openAtEnd, { closes: [{ ...close, calledAt: 850 }] }))).toEqual([]);
      expect(invariants(trace(addressed, [], { closes: [{ ...close, outcome: 'pending' }] }))).toEqual([
        'settles',
      ]);
    });

    it("finds a stream listed in presence as another user's", () => {
      const open = [
        { id: 'a', channels: ['x'], user: 'u1' },
        { id: 'b', channels: ['x'] },
      ];
      const listed = [
        { id: 'a', channels: ['x'], user: 'u1', info: { user: 'u1' } },
        { id: 'b', channels: ['x'], info: { user: null } },
      ];
      expect(presenceProblems(open, { count: 2, clients: listed }, true)).toEqual([]);
      expect(
        presenceProblems(open, { count: 2, clients: [{ ...listed[0], user: 'u2' }, listed[1]] }),
      ).toEqual([expect.stringMatching(/^a listed as user "u2"/)]);
      expect(
        presenceProblems(open, { count: 2, clients: [listed[0], { ...listed[1], info: { user: 'u1' } }] }),
      ).toEqual([expect.stringMatching(/^b's info says user "u1"/)]);
      // A store that does not keep users passes, unless it must.
      const without = [{ ...listed[0], user: undefined }, listed[1]];
      expect(presenceProblems(open, { count: 2, clients: without })).toEqual([]);
      expect(presenceProblems(open, { count: 2, clients: without }, true)).toEqual([
        expect.stringMatching(/^a listed as user undefined/),
      ]);
    });
  });

  it('finds ghosts, doubles, missing streams and wrong channels in presence', () => {
    const open = [
      { id: 'a', channels: ['x'] },
      { id: 'b', channels: ['x', 'y'] },
    ];
    expect(presenceProblems(open, { count: 2, clients: [open[1], open[0]] })).toEqual([]);
    expect(presenceProblems(open, { count: 3, clients: [...open, { id: 'gone', channels: ['x'] }] })).toEqual(
      [expect.stringMatching(/^ghost gone/)],
    );
    expect(presenceProblems(open, { count: 3, clients: [...open, open[0]] })).toEqual(['a listed 2 times']);
    expect(presenceProblems(open, { count: 1, clients: [{ id: 'b', channels: ['x'] }] })).toEqual([
      expect.stringMatching(/^b listed in/),
      'missing a: its stream is open',
    ]);
  });
});
