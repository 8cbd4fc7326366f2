import { encodeEventParts, encodeId, toSseEvent } from '../wire';
import { type SseHubMessage } from './sse-hub-message.interface';

/** What reaches clients: a broadcast or a message to one of them. */
export type DeliveredMessage = Extract<SseHubMessage, { type: 'broadcast' | 'send' }>;

type Parts = { head: string; tail: string };

// Symbol-keyed, so the parts ride along with the message object in this process (an
// in-process transport spreads it into the stored copy) and are never serialised by a
// transport that sends it elsewhere (JSON leaves symbol keys out).
const PARTS = Symbol('nestjs-sse-hub:encoded-parts');

/**
 * Room kept in `maxEventBytes` for the `id:` line the transport adds to a broadcast:
 * `id: ` + 13 digits of milliseconds + `-` + up to 6 digits of sequence + LF.
 */
export const ID_LINE_ALLOWANCE = 26;

/** A message's value as the parts of its event: a broadcast's id comes later, a message to one client keeps its own. */
function partsOf(message: DeliveredMessage, maxBytes: number): Parts | null {
  const event = toSseEvent(message.value);
  if (!event) return null;
  // The hub gives a broadcast its id: one of the value's own is left out (it would break the order).
  if (message.type === 'broadcast')
    return encodeEventParts({ ...event, id: undefined }, maxBytes, ID_LINE_ALLOWANCE);
  const { head, tail } = encodeEventParts(event, maxBytes);
  return { head: event.id === undefined ? head : head + encodeId(event.id), tail };
}

/**
 * Encodes a message's value once, where it is published: the check (a field a client would
 * misread, an event over `maxBytes`) is made on the very bytes that are then sent, so a
 * value that serialises differently the second time cannot slip past it.
 */
export function prepareMessage<T extends DeliveredMessage>(message: T, maxBytes: number): T {
  (message as any)[PARTS] = partsOf(message, maxBytes);
  return message;
}

/**
 * The bytes of each message, with its id, made the first time a client needs them and
 * shared by every recipient. A message from another instance is encoded here, once.
 */
export class HubMessageEncoder {
  private readonly byMessage = new WeakMap<DeliveredMessage, Buffer | null>();

  encoded(message: DeliveredMessage): Buffer | undefined {
    let encoded = this.byMessage.get(message);
    if (encoded === undefined) {
      encoded = this.encode(message);
      this.byMessage.set(message, encoded);
    }
    return encoded ?? undefined;
  }

  private encode(message: DeliveredMessage): Buffer | null {
    const prepared: Parts | null | undefined = (message as any)[PARTS];
    const parts = prepared === undefined ? partsOf(message, Infinity) : prepared;
    if (!parts) return null;
    const id = message.type === 'broadcast' ? message.id : undefined;
    return Buffer.from(id === undefined ? parts.head + parts.tail : parts.head + encodeId(id) + parts.tail);
  }
}
