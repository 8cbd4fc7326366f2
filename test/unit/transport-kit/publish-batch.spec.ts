import { PublishBatch, type PublishResults } from '../../../src/transport-kit/publish-batch';

/** A `send` whose calls are kept, each settled by the test. */
function recorder() {
  const calls: Array<{
    pairs: string[];
    resolve: (results?: PublishResults) => void;
    reject: (e: unknown) => void;
  }> = [];
  const send = (pairs: string[]) =>
    new Promise<PublishResults>((resolve, reject) => calls.push({ pairs, resolve, reject }));
  return { calls, send };
}

const settled = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (error: Error) => `rejected: ${error.message}`,
  );

/** Lets the microtasks run (the batch sends after the code that is publishing now). */
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('PublishBatch', () => {
  it('sends what is published in one turn in one call, keys and entries in call order', async () => {
    const { calls, send } = recorder();
    const batch = new PublishBatch(send);
    const published = [batch.add('', 'a'), batch.add('k', 'b'), batch.add('', 'c')];
    await turn();
    expect(calls.map((call) => call.pairs)).toEqual([['', 'a', 'k', 'b', '', 'c']]);
    calls[0].resolve();
    expect(await Promise.all(published.map(settled))).toEqual(['resolved', 'resolved', 'resolved']);
  });

  it('with one call in flight, holds what comes meanwhile and sends it together in the next', async () => {
    const { calls, send } = recorder();
    const batch = new PublishBatch(send, 1);
    const first = batch.add('', '1');
    await turn();
    const second = batch.add('', '2');
    const third = batch.add('', '3');
    await turn();
    expect(calls).toHaveLength(1);
    calls[0].resolve();
    await first;
    await turn();
    expect(calls.map((call) => call.pairs)).toEqual([
      ['', '1'],
      ['', '2', '', '3'],
    ]);
    calls[1].resolve();
    expect(await Promise.all([second, third].map(settled))).toEqual(['resolved', 'resolved']);
  });

  it('with two in flight, a second call goes out before the first settles', async () => {
    const { calls, send } = recorder();
    const batch = new PublishBatch(send, 2);
    void batch.add('', '1');
    await turn();
    void batch.add('', '2');
    await turn();
    void batch.add('', '3');
    await turn();
    // Two on their way; the third waits for one of them.
    expect(calls.map((call) => call.pairs)).toEqual([
      ['', '1'],
      ['', '2'],
    ]);
    calls[1].resolve();
    await turn();
    expect(calls[2].pairs).toEqual(['', '3']);
  });

  it('rejects only the messages a call refused one by one, and every message of a call that failed', async () => {
    const { calls, send } = recorder();
    const batch = new PublishBatch(send);
    const one = [batch.add('', 'ok'), batch.add('dup', 'refused'), batch.add('', 'ok too')];
    await turn();
    calls[0].resolve([null, new Error('key busy'), null]);
    expect(await Promise.all(one.map(settled))).toEqual(['resolved', 'rejected: key busy', 'resolved']);
    const two = [batch.add('', 'x'), batch.add('', 'y')];
    await turn();
    calls[1].reject(new Error('connection lost'));
    expect(await Promise.all(two.map(settled))).toEqual([
      'rejected: connection lost',
      'rejected: connection lost',
    ]);
  });

  it('rejects the call a send that throws at once, and goes on with the next', async () => {
    let throws = true;
    const sent: string[][] = [];
    const batch = new PublishBatch(async (pairs) => {
      if (throws) throw new Error('not connected');
      sent.push(pairs);
    });
    // A send that throws synchronously (not an async function) too.
    const syncThrowing = new PublishBatch((() => {
      throw new Error('sync');
    }) as unknown as (pairs: string[]) => Promise<PublishResults>);
    expect(await settled(syncThrowing.add('', 'a'))).toBe('rejected: sync');
    expect(await settled(batch.add('', 'a'))).toBe('rejected: not connected');
    throws = false;
    expect(await settled(batch.add('', 'b'))).toBe('resolved');
    expect(sent).toEqual([['', 'b']]);
  });

  it('splits a burst into calls of at most 1,000 entries, in order', async () => {
    const { calls, send } = recorder();
    const batch = new PublishBatch(send, 10);
    const all = Array.from({ length: 2500 }, (_, i) => batch.add('', String(i)));
    await turn();
    expect(calls.map((call) => call.pairs.length / 2)).toEqual([1000, 1000, 500]);
    expect(calls.flatMap((call) => call.pairs.filter((_, i) => i % 2 === 1))).toEqual(
      Array.from({ length: 2500 }, (_, i) => String(i)),
    );
    calls.forEach((call) => call.resolve());
    await Promise.all(all);
  });
});
