/** An entry as Redis replies (RESP2): its id and its flat list of fields and values. */
export type RawEntry = [id: string, fields: string[]];

/** The entry's fields: the hub message as JSON, and its place in the stream. */
export const MESSAGE_FIELD = 'm';
export const SEQUENCE_FIELD = 'n';

/**
 * Appends messages to the stream, each with the next number of a sequence that the
 * stream itself carries (read from its newest entry): ids are timestamps and say nothing
 * of what lies between two of them, but consecutive numbers do. A reader or a replay
 * that finds a number missing knows entries were trimmed before it read them, instead of
 * skipping them in silence. One script, so the numbers are taken and the entries added
 * atomically, whoever publishes; several messages in one call are added in order.
 *
 * A message with an idempotency key is added only if the key is not in the sorted set
 * KEYS[2] (scored by when it was added; keys older than the window are dropped), in
 * the same atomic step: a retry of a publish whose reply was lost is not added twice.
 *
 * KEYS[1] the stream, KEYS[2] the idempotency keys; ARGV[1] the stream's MAXLEN
 * (approximate), ARGV[2] the keys' window in ms; then pairs of (key or '', message).
 * Returns the new entries' ids (false for a message already published).
 */
export const APPEND_SCRIPT = `
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local n = 0
if last[1] then
  local fields = last[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == '${SEQUENCE_FIELD}' then n = tonumber(fields[i + 1]) or 0 end
  end
end
local now
local ids = {}
for i = 3, #ARGV, 2 do
  local fresh = true
  if ARGV[i] ~= '' then
    if not now then
      local time = redis.call('TIME')
      now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
      redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]))
    end
    fresh = redis.call('ZADD', KEYS[2], 'NX', now, ARGV[i]) == 1
  end
  if fresh then
    n = n + 1
    ids[#ids + 1] = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
      '${MESSAGE_FIELD}', ARGV[i + 1], '${SEQUENCE_FIELD}', n)
  else
    ids[#ids + 1] = false
  end
end
if now then redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2])) end
return ids
`;

/** The value of `field` in an entry, if it has it. */
export function fieldOf([, fields]: RawEntry, field: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === field) return fields[i + 1];
  return undefined;
}

/** An entry's sequence number; undefined for an entry written without one (an older version). */
export function sequenceOf(entry: RawEntry): number | undefined {
  const value = fieldOf(entry, SEQUENCE_FIELD);
  const n = value === undefined ? NaN : Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The entries of an `XREAD` reply for one stream: a list of [key, entries] (RESP2) or a
 * map (RESP3); none on timeout.
 */
export function entriesOf(reply: unknown): RawEntry[] {
  if (!reply) return [];
  const streams = Array.isArray(reply)
    ? (reply as Array<[string, RawEntry[]]>).map(([, entries]) => entries)
    : Object.values(reply as Record<string, RawEntry[]>);
  return streams[0] ?? [];
}

/** The number that should follow `sequence`, if it is known. */
export function next(sequence: number | undefined): number | undefined {
  return sequence === undefined ? undefined : sequence + 1;
}
