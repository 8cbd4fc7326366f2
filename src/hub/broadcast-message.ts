import { unstorable } from '../connection/sse-channel-name.error';
import { userList } from '../connection/sse-user-id.error';
import { channelList } from './channel-list';
import { prepareMessage } from './hub-message-encoder';
import { type SseBroadcastOptions } from './sse-broadcast-options.interface';
import { type SseBroadcastMessage } from './sse-hub-message.interface';

/** One client id or a list of them, as a list (or undefined). */
function toList(value: string | readonly string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? [value] : [...value];
}

/**
 * The broadcast of `value` to whom `options` says, stamped with when it was published and
 * encoded once: refused here (a bad idempotency key, `SseEncodeError`,
 * `SseEventTooLargeError` over `maxEventBytes`) before anything is sent. `caller` names
 * the method in the error, for `SseHub.broadcast` and the transports' own publishers.
 */
export function broadcastMessage(
  value: unknown,
  options: SseBroadcastOptions,
  maxEventBytes: number,
  caller = 'SseHub.broadcast',
): SseBroadcastMessage {
  const { idempotencyKey } = options;
  if (idempotencyKey !== undefined && (typeof idempotencyKey !== 'string' || idempotencyKey === '')) {
    throw new TypeError(
      `${caller}: idempotencyKey must be a non-empty string, got ${JSON.stringify(idempotencyKey)}.`,
    );
  }
  const unfit = idempotencyKey === undefined ? undefined : unstorable(idempotencyKey);
  if (unfit !== undefined)
    throw new TypeError(
      `${caller}: idempotencyKey ${JSON.stringify(idempotencyKey)} cannot be stored by every transport: ${unfit}. Leave such characters out of it.`,
    );
  const channels = options.channels === undefined ? undefined : channelList(options.channels, caller);
  const users = options.users === undefined ? undefined : userList(options.users, caller);
  return prepareMessage(
    {
      type: 'broadcast',
      value,
      channels,
      users,
      except: toList(options.except),
      idempotencyKey,
      publishedAt: Date.now(),
    },
    maxEventBytes,
  );
}
