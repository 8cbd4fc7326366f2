import { checkChannelName } from '../connection/sse-channel-name.error';

function shown(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // A BigInt or a cycle: its type says enough.
  }
  text ??= typeof value;
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

/**
 * The channels given to `SseHub.broadcast`, `join`, `leave` or a route's `channels`: one
 * name (never a list of characters) or a list of them, as a list. Anything else is a
 * `TypeError` saying where it came from; a name no transport can store is an
 * `SseChannelNameError`.
 */
export function channelList(channels: unknown, where: string): string[] {
  const list =
    typeof channels === 'string'
      ? [channels]
      : typeof (channels as Iterable<unknown> | null | undefined)?.[Symbol.iterator] === 'function'
        ? [...(channels as Iterable<unknown>)]
        : undefined;
  if (!list?.every((channel) => typeof channel === 'string'))
    throw new TypeError(
      `${where}: channels must be a channel name or a list of them, got ${shown(channels)}.`,
    );
  list.forEach(checkChannelName);
  return list;
}
