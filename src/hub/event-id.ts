// `<milliseconds>-<sequence>`, the form of Redis Streams ids: ordered, and not restarted at 1
// when the process restarts (the clock has moved on), so an old id is never mistaken for a new one.
const EVENT_ID = /^(\d{1,15})-(\d{1,15})$/;

/** Whether `value` has the form of a hub event id. */
export function isEventId(value: string): boolean {
  return EVENT_ID.test(value);
}

/** Orders two hub event ids: negative if `a` came first, 0 if equal, positive if `b` did. */
export function compareEventIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(Number);
  const [bMs, bSeq] = b.split('-').map(Number);
  return aMs - bMs || aSeq - bSeq;
}

/** Hands out increasing ids, even if the clock steps back. */
export class EventIdGenerator {
  private lastMs = 0;
  private seq = 0;

  next(now = Date.now()): string {
    if (now > this.lastMs) {
      this.lastMs = now;
      this.seq = 0;
    } else {
      this.seq++;
    }
    return `${this.lastMs}-${this.seq}`;
  }
}
