import { reconnectDelay } from '../../../src/client/reconnect-delay';

// The client's wait before a reconnect: the base delay (the server's `retry:`), doubled per
// consecutive failure up to the cap, with "equal jitter": between half of it and all of it.
describe('reconnectDelay', () => {
  it('waits the base delay after a success, jittered between half of it and all of it', () => {
    expect(reconnectDelay(1000, 0, 30_000, 0)).toBe(500);
    expect(reconnectDelay(1000, 0, 30_000, 0.5)).toBe(750);
    expect(reconnectDelay(1000, 0, 30_000, 0.999999)).toBeCloseTo(1000, 2);
  });

  it('doubles for each consecutive failure', () => {
    expect([0, 1, 2, 3, 4].map((failures) => reconnectDelay(1000, failures, 30_000, 1))).toEqual([
      1000, 2000, 4000, 8000, 16_000,
    ]);
  });

  it('never grows past the cap, even after many failures', () => {
    expect(reconnectDelay(1000, 5, 30_000, 1)).toBe(30_000);
    expect(reconnectDelay(1000, 10_000, 30_000, 1)).toBe(30_000);
    expect(reconnectDelay(1000, 10_000, 30_000, 0)).toBe(15_000);
  });

  it("keeps a server's retry: above the cap: the cap limits the back-off, not what the server asked", () => {
    expect(reconnectDelay(60_000, 0, 30_000, 1)).toBe(60_000);
    expect(reconnectDelay(60_000, 3, 30_000, 1)).toBe(60_000);
  });

  it('stays within [delay / 2, delay] for any random number', () => {
    for (let i = 0; i <= 100; i++) {
      const random = i / 101;
      const delay = reconnectDelay(200, 2, 30_000, random);
      expect(delay).toBeGreaterThanOrEqual(400);
      expect(delay).toBeLessThanOrEqual(800);
    }
  });

  it('is 0 for a server that asks for retry: 0', () => {
    expect(reconnectDelay(0, 3, 30_000, 0.5)).toBe(0);
  });
});
