import { reconnectDelay } from '../../../src/client/reconnect-delay';

// The client's wait before a reconnect: after a stream that got events, the server's
// `retry:` and up to half as much again; after failures, the base doubled per consecutive
// failure up to the cap, with "equal jitter" (between half of it and all of it), never
// below the base.
describe('reconnectDelay', () => {
  it("waits at least the server's retry: after a stream that got events, and up to half as much again", () => {
    expect(reconnectDelay(1000, 0, 30_000, 0)).toBe(1000);
    expect(reconnectDelay(1000, 0, 30_000, 0.5)).toBe(1250);
    expect(reconnectDelay(1000, 0, 30_000, 0.999999)).toBeCloseTo(1500, 2);
  });

  it('doubles for each consecutive failure', () => {
    expect([1, 2, 3, 4].map((failures) => reconnectDelay(1000, failures, 30_000, 1))).toEqual([
      2000, 4000, 8000, 16_000,
    ]);
  });

  it('never grows past the cap, even after many failures', () => {
    expect(reconnectDelay(1000, 5, 30_000, 1)).toBe(30_000);
    expect(reconnectDelay(1000, 10_000, 30_000, 1)).toBe(30_000);
    expect(reconnectDelay(1000, 10_000, 30_000, 0)).toBe(15_000);
  });

  it("keeps a server's retry: above the cap: the cap limits the back-off, not what the server asked", () => {
    expect(reconnectDelay(60_000, 3, 30_000, 0)).toBe(60_000);
    expect(reconnectDelay(60_000, 3, 30_000, 1)).toBe(60_000);
  });

  it('stays within [max(base, delay / 2), delay] after failures, for any random number', () => {
    for (let i = 0; i <= 100; i++) {
      const random = i / 101;
      expect(reconnectDelay(300, 2, 30_000, random)).toBeGreaterThanOrEqual(600);
      expect(reconnectDelay(300, 2, 30_000, random)).toBeLessThanOrEqual(1200);
      expect(reconnectDelay(300, 1, 30_000, random)).toBeGreaterThanOrEqual(300);
    }
  });

  it('is 0 after a stream that got events for a server that asks for retry: 0, but failures still back off', () => {
    expect(reconnectDelay(0, 0, 30_000, 0.5)).toBe(0);
    expect(reconnectDelay(0, 1, 30_000, 1)).toBe(500);
    expect(reconnectDelay(0, 3, 30_000, 1)).toBe(2000);
    expect(reconnectDelay(0, 50, 30_000, 1)).toBe(30_000);
  });

  it('never waits longer than setTimeout can (a longer wait would fire at once)', () => {
    expect(reconnectDelay(3_000_000_000, 0, 30_000, 0.5)).toBe(2 ** 31 - 1);
    expect(reconnectDelay(3_000_000_000, 4, 30_000, 0.5)).toBe(2 ** 31 - 1);
  });
});
