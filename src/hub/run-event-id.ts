import { randomBytes } from 'node:crypto';

/** `<run>-<number>`: the run (12 hex digits, new for each run of a key), then the event's number in it. */
const RUN_EVENT_ID = /^([0-9a-f]{12})-([1-9][0-9]{0,15})$/;

/** A new run's name: random, so that an id of an earlier run of the same key is never taken for one of this. */
export function newRunName(): string {
  return randomBytes(6).toString('hex');
}

/** The id of a run's event `seq`. */
export function runEventId(run: string, seq: number): string {
  return `${run}-${seq}`;
}

/** The run and number an event id names, or `undefined` for an id that is not a run's. */
export function parseRunEventId(id: string): { run: string; seq: number } | undefined {
  const match = RUN_EVENT_ID.exec(id);
  if (!match) return undefined;
  const seq = Number(match[2]);
  return Number.isSafeInteger(seq) ? { run: match[1], seq } : undefined;
}
