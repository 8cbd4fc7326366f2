/** NUL, or a UTF-16 surrogate without its pair (a string that is not valid Unicode). */
const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why a string cannot be a name the transports store (a channel, an idempotency key), or
 * undefined. PostgreSQL's `text` and `jsonb` refuse NUL, and a lone surrogate comes back
 * as U+FFFD from every transport that writes UTF-8: two names would become one. Refused
 * on every transport alike, so that an app behaves the same on each.
 */
export function unstorable(text: string): string | undefined {
  const found = UNSTORABLE.exec(text)?.[0];
  if (found === undefined) return undefined;
  return found === '\0'
    ? 'it contains NUL (U+0000)'
    : 'it contains a lone surrogate, which is not valid Unicode';
}

/**
 * A channel name that cannot be used: not a string, or one that no transport can store
 * as it is. A route whose `channels` option gives one answers 400 before its stream starts.
 *
 * @publicApi
 */
export class SseChannelNameError extends TypeError {
  /** Its class name, as logs and stack traces show it. */
  override readonly name = 'SseChannelNameError';

  constructor(
    /** What was given as the channel name. */
    readonly channel: unknown,
    reason: string,
  ) {
    super(
      `${JSON.stringify(channel) ?? String(channel)} cannot be a channel name: ${reason}. Leave such characters out of channel names (or encode them, e.g. with encodeURIComponent).`,
    );
  }
}

/** `channel`, if it can be a channel name; else throws `SseChannelNameError`. */
export function checkChannelName(channel: unknown): string {
  if (typeof channel !== 'string')
    throw new SseChannelNameError(
      channel,
      `it is ${channel === null ? 'null' : typeof channel}, not a string`,
    );
  const reason = unstorable(channel);
  if (reason !== undefined) throw new SseChannelNameError(channel, reason);
  return channel;
}
