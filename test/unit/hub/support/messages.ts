import { type DeliveredMessage, prepareMessage } from '../../../../src/hub/hub-message-encoder';
import { type SseBroadcastMessage } from '../../../../src/hub/sse-hub-message.interface';

let sequence = 0;

/** A broadcast as a transport delivers it: with an id that orders it (`1700000000000-<n>`). */
export function broadcast(
  value: unknown,
  channels?: string[],
  id = `1700000000000-${++sequence}`,
): SseBroadcastMessage {
  return prepareMessage({ type: 'broadcast', value, channels, id, publishedAt: Date.now() }, Infinity);
}

export function sendTo(clientId: string, value: unknown): DeliveredMessage {
  return prepareMessage({ type: 'send', clientId, value, publishedAt: Date.now() }, Infinity);
}
