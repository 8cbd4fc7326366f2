import { type SseBroadcastMessage, type SseHistoryResult, type SseHubMessage } from '../hub';
import { type RedisConnection } from './redis-connection';
import { fieldOf, MESSAGE_FIELD, next, type RawEntry, sequenceOf } from './stream-entries';

/** Entries at most per XRANGE page of a replay. */
const PAGE = 1000;
/** A replay's first page, and about how many bytes its later pages hold (their count follows the entries' size). */
const FIRST_PAGE = 100;
const PAGE_BYTES = 1024 * 1024;

/**
 * Every broadcast of the stream `key` after `lastEventId`, read page by page to its end:
 * the entry of that id must still be there, and the sequence numbers after it unbroken,
 * else what trimming took is a gap. Never a part of what was missed. With `each`, the
 * broadcasts go to it as each page comes, and none are kept here; pages start small and
 * grow while entries are small, so that a page of large events stays near `PAGE_BYTES`.
 */
export async function readHistory(
  client: RedisConnection,
  key: string,
  lastEventId: string,
  decode: (entry: RawEntry) => SseHubMessage | undefined,
  each?: (message: SseBroadcastMessage) => boolean,
): Promise<SseHistoryResult> {
  const messages: SseBroadcastMessage[] = [];
  const take = each ?? ((message: SseBroadcastMessage) => messages.push(message) > 0);
  let start = lastEventId;
  let expected: number | undefined;
  let count = FIRST_PAGE;
  for (let first = true; ; first = false) {
    const entries = (await client.send(key, [
      'XRANGE',
      key,
      start,
      '+',
      'COUNT',
      String(count),
    ])) as RawEntry[];
    let from = 0;
    if (first) {
      // Not there (trimmed, or never ours): what came after it cannot be known whole.
      if (entries[0]?.[0] !== lastEventId) return { status: 'gap' };
      expected = next(sequenceOf(entries[0]));
      from = 1;
    }
    let bytes = 0;
    for (let i = from; i < entries.length; i++) {
      const sequence = sequenceOf(entries[i]);
      // A number missing: entries were trimmed between two pages.
      if (expected !== undefined && sequence !== expected) return { status: 'gap' };
      expected = next(sequence);
      bytes += fieldOf(entries[i], MESSAGE_FIELD)?.length ?? 0;
      const message = decode(entries[i]);
      if (message?.type === 'broadcast' && !take(message)) return { status: 'gap' };
    }
    if (entries.length < count) return { status: 'complete', messages };
    start = `(${entries[entries.length - 1][0]}`;
    count = Math.max(1, Math.min(PAGE, Math.floor((PAGE_BYTES * entries.length) / Math.max(1, bytes))));
  }
}
