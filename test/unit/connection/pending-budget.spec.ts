import { type BudgetedStream, SsePendingBudget } from '../../../src/connection';
import { FakeResponse, nextTurn, openClient } from './fake-response';

/** A stream holding `pendingBytes`; shedding it frees them (`drop`: only on the second shed). */
function held(name: string, pendingBytes: number, shed: string[], policy: 'close' | 'drop' = 'close') {
  let asked = 0;
  const stream: BudgetedStream & { name: string; pendingBytes: number } = {
    name,
    budgeted: 0,
    pendingBytes,
    shed() {
      shed.push(name);
      asked++;
      if (policy === 'close' || asked > 1) {
        stream.pendingBytes = 0;
        budget?.remove(stream);
      }
    },
  };
  let budget: SsePendingBudget | undefined;
  return Object.assign(stream, { attach: (to: SsePendingBudget) => ((budget = to), to.add(stream), stream) });
}

describe('SsePendingBudget', () => {
  it('sheds nothing while the total is under the limit, and recounts before it acts', () => {
    const shed: string[] = [];
    const budget = new SsePendingBudget(1000);
    const a = held('a', 0, shed).attach(budget);
    budget.grow(a, 600);
    a.pendingBytes = 100;
    // The running total (1100) is an overestimate: a's socket took most of what it was given.
    budget.grow(a, 500);
    expect(shed).toEqual([]);
    a.pendingBytes = 600;
    expect(budget.recount()).toBe(600);
  });

  it('over the limit, sheds the streams holding most until the total is back under 90 %', () => {
    const shed: string[] = [];
    const budget = new SsePendingBudget(1000);
    const streams = [held('small', 100, shed), held('large', 500, shed), held('medium', 300, shed)];
    for (const stream of streams) budget.grow(stream.attach(budget), stream.pendingBytes);
    expect(shed).toEqual([]);
    const late = held('late', 200, shed).attach(budget);
    budget.grow(late, 200);
    // 1,100 bytes: shedding 'large' (500) brings them under 900.
    expect(shed).toEqual(['large']);
    expect(budget.total).toBe(600);
    expect(budget.size).toBe(3);
  });

  it('ends a stream asked to drop that still holds the most, on a second pass', () => {
    const shed: string[] = [];
    const budget = new SsePendingBudget(1000);
    const dropping = held('dropping', 950, shed, 'drop').attach(budget);
    budget.grow(dropping, 950);
    const other = held('other', 100, shed).attach(budget);
    budget.grow(other, 100);
    expect(shed).toEqual(['dropping', 'other', 'dropping']);
    expect(budget.total).toBe(0);
  });

  it('lets go of what a stream held when it is removed', () => {
    const budget = new SsePendingBudget(1000);
    const a = held('a', 400, []).attach(budget);
    const b = held('b', 300, []).attach(budget);
    budget.grow(a, 400);
    budget.grow(b, 300);
    budget.remove(a);
    expect(budget.total).toBe(300);
    expect(budget.size).toBe(1);
    expect(a.budgeted).toBe(0);
  });
});

describe('SsePendingBudget with real streams', () => {
  /** Two stalled clients under their own limit (1 MiB each) and one budget for both. */
  async function stalledPair(budget: SsePendingBudget, firstPolicy: 'close' | 'drop' = 'close') {
    const pair = [
      openClient({ pendingBudget: budget, slowConsumer: firstPolicy }, new FakeResponse(1024)),
      openClient({ pendingBudget: budget }, new FakeResponse(1024)),
    ];
    for (const { stream } of pair) stream.start();
    await nextTurn();
    for (const { res } of pair) res.stall();
    return pair;
  }

  it('ends the client holding most past the application-wide limit, though each is under its own', async () => {
    const budget = new SsePendingBudget(8 * 1024);
    const [first, second] = await stalledPair(budget);
    for (let n = 0; n < 20; n++) first.client.send('a'.repeat(300));
    await nextTurn();
    for (let n = 0; n < 40 && !first.client.closed; n++) {
      second.client.send('b'.repeat(100));
      await nextTurn();
    }
    expect(first.client.reason).toBe('slow-consumer');
    expect(second.client.closed).toBe(false);
    expect(budget.size).toBe(1);
    expect(budget.recount()).toBeLessThanOrEqual(8 * 1024);
  });

  it('makes a client under the "drop" policy drop events rather than end, while there are others to shed', async () => {
    const budget = new SsePendingBudget(8 * 1024);
    const [dropping, closing] = await stalledPair(budget, 'drop');
    for (let n = 0; n < 20; n++) dropping.client.send('a'.repeat(300));
    await nextTurn();
    // Over the budget: the one holding most is asked to drop, which frees nothing yet; the other is shed.
    closing.client.send('b'.repeat(3000));
    expect(closing.client.reason).toBe('slow-consumer');
    expect(dropping.client.closed).toBe(false);
    expect(dropping.client.send('more').ok).toBe(true);
    await nextTurn();
    expect(dropping.res.writes.some((chunk) => String(chunk).includes('more'))).toBe(false);
  });

  it('counts what a stream holds from its first write to its close, queued bytes and reservations too', async () => {
    const budget = new SsePendingBudget(1024 * 1024);
    const { client, stream, res } = openClient({ pendingBudget: budget }, new FakeResponse(1024));
    expect(budget.size).toBe(1);
    client.send('q'.repeat(100));
    stream.reserve(50);
    expect(budget.total).toBe(client.pendingBytes);
    stream.unreserve(50);
    stream.start();
    await nextTurn();
    res.stall();
    client.send('w'.repeat(2000));
    await nextTurn();
    expect(budget.recount()).toBe(client.pendingBytes);
    expect(client.pendingBytes).toBeGreaterThan(2000);
    client.close();
    expect(budget.size).toBe(0);
    expect(budget.total).toBe(0);
  });
});
