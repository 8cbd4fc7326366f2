/**
 * The hash tag Redis Cluster hashes a key by: what is between its first `{` and the
 * first `}` after that, if that is not empty; otherwise the key has none.
 */
function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/**
 * Refuses a stream name whose keys could not share its hash slot: one with a `}` and no
 * hash tag (`sse}v2`, `a{}{b}`), since wrapping it in braces would hash another part of it.
 */
export function checkStreamName(stream: string): string {
  if (typeof stream !== 'string' || stream === '')
    throw new TypeError(
      `RedisStreamsTransport: stream must be a non-empty key name, got ${JSON.stringify(stream)}.`,
    );
  if (hashTagOf(stream) === undefined && stream.includes('}')) {
    throw new TypeError(
      `RedisStreamsTransport: the stream name ${JSON.stringify(stream)} has a "}" but no hash tag: ` +
        'name it without braces, or with a tag like "{app}:sse".',
    );
  }
  return stream;
}

/**
 * A key that lives in the stream's hash slot: beside its own hash tag, or with its whole
 * name made the tag (a name `checkStreamName` took). On a Redis Cluster a script may only
 * touch keys of one slot, and the stream, its idempotency keys and presence go together.
 */
export function keyBeside(stream: string, suffix: string): string {
  return hashTagOf(stream) !== undefined ? `${stream}:${suffix}` : `{${stream}}:${suffix}`;
}
