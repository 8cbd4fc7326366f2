import { encodeEvent } from './encode-event';

/**
 * The event that tells a client it missed events (`dropped` of them, when known), named
 * as its route says: data `{ lastEventId, dropped? }`, and no id of its own, so that its
 * `Last-Event-ID` stays on the last event it got (`lastEventId`, or `null` for none).
 */
export function encodeResync(event: string, lastEventId: string | undefined, dropped?: number): string {
  const data: { lastEventId: string | null; dropped?: number } = { lastEventId: lastEventId ?? null };
  if (dropped !== undefined) data.dropped = dropped;
  return encodeEvent({ event, data: JSON.stringify(data) });
}
