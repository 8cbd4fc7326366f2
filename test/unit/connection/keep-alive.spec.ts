import { type KeepAliveStream, KeepAliveTicker } from '../../../src/connection/keep-alive';

/** A stream that records when the ticker found it silent (fake time, so exact). */
function stream(): KeepAliveStream & { silences: number[] } {
  const silences: number[] = [];
  return { keepAliveTick: 0, silences, onSilence: () => silences.push(Date.now()) };
}

describe('KeepAliveTicker', () => {
  const INTERVAL = 1000;
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  it('tells a silent stream after between one and 1.25 intervals, and again each interval after', () => {
    const ticker = KeepAliveTicker.every(INTERVAL);
    // Added part-way through a tick: the worst case for a tick-based clock.
    jest.advanceTimersByTime(100);
    const silent = stream();
    ticker.add(silent);
    jest.advanceTimersByTime(5000);
    expect(silent.silences.length).toBeGreaterThanOrEqual(4);
    const gaps = silent.silences.map((at, i) => at - (i === 0 ? 100 : silent.silences[i - 1]));
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(INTERVAL);
      expect(gap).toBeLessThanOrEqual(INTERVAL * 1.25);
    }
    ticker.delete(silent);
  });

  it('tells nothing to a stream that keeps writing', () => {
    const ticker = KeepAliveTicker.every(INTERVAL);
    const busy = stream();
    ticker.add(busy);
    for (let t = 0; t < 10_000; t += 900) {
      jest.advanceTimersByTime(900);
      ticker.touch(busy);
    }
    expect(busy.silences).toEqual([]);
    ticker.delete(busy);
  });

  it('is one timer for every stream of an interval, and none once they are gone', () => {
    const timers = () => jest.getTimerCount();
    const ticker = KeepAliveTicker.every(INTERVAL);
    expect(KeepAliveTicker.every(INTERVAL)).toBe(ticker);
    const streams = Array.from({ length: 1000 }, stream);
    for (const s of streams) ticker.add(s);
    expect(timers()).toBe(1);
    jest.advanceTimersByTime(INTERVAL * 1.25);
    expect(streams.every((s) => s.silences.length === 1)).toBe(true);
    for (const s of streams) ticker.delete(s);
    expect(timers()).toBe(0);
  });

  it('lets a stream that ends while the ticker tells others leave at once', () => {
    const ticker = KeepAliveTicker.every(INTERVAL);
    const others = [stream(), stream()];
    const leaving: KeepAliveStream = { keepAliveTick: 0, onSilence: () => ticker.delete(leaving) };
    ticker.add(leaving);
    for (const s of others) ticker.add(s);
    jest.advanceTimersByTime(INTERVAL * 2.5);
    expect(others.map((s) => s.silences.length)).toEqual([2, 2]);
    for (const s of others) ticker.delete(s);
    expect(jest.getTimerCount()).toBe(0);
  });
});
