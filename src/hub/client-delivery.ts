import { encodeEventParts, encodeId, SseEventTooLargeError, toSseEvent } from '../wire';
import { compareEventIds } from './event-id';
import { type HubEntry, type MissedBroadcasts } from './client-registry';
import { type DeliveredMessage, type HubMessageEncoder } from './hub-message-encoder';
import { type SseBroadcastMessage } from './sse-hub-message.interface';
import { type ThrottledLogger } from './throttled-logger';

/** What delivering to one client needs of the hub. */
export interface ClientDelivery {
  readonly encoder: HubMessageEncoder;
  readonly logger: ThrottledLogger;
  /** Clients that refused the current message as larger than their `maxEventBytes`. */
  tooLarge: number;
}

function idOf(message: DeliveredMessage): string | undefined {
  return message.type === 'broadcast' ? message.id : undefined;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/** Whether a broadcast is for this client on replay (`except` named other connections). */
export function reaches(entry: HubEntry, message: SseBroadcastMessage): boolean {
  return (
    message.channels === undefined || message.channels.some((channel) => entry.client.channels.has(channel))
  );
}

/**
 * Sends one hub message to one client: held while its replay is pending, skipped if the
 * replay sent it already, through its `onMessage` if it has one (in order, even when the
 * hook is async), else as the bytes encoded once for everybody.
 */
export function deliverTo(
  delivery: ClientDelivery,
  entry: HubEntry,
  message: DeliveredMessage,
  encoded = delivery.encoder.encoded(message),
): void {
  if (entry.held) {
    // Held bytes count against the client's limits: a slow setup must not hoard them.
    const bytes = encoded?.length ?? 0;
    if (!entry.stream.reserve(bytes)) return;
    entry.heldBytes += bytes;
    entry.held.push(message);
    return;
  }
  if (entry.replayedUpTo !== undefined && message.type === 'broadcast' && message.id !== undefined) {
    const fresh =
      entry.gapAt !== undefined && message.publishedAt !== undefined && message.publishedAt > entry.gapAt;
    if (!fresh && compareEventIds(message.id, entry.replayedUpTo) <= 0) return;
    // Transports deliver in order: everything from here on is new.
    entry.replayedUpTo = undefined;
  }
  if (!entry.onMessage) {
    if (encoded) write(delivery, entry, encoded, idOf(message));
    return;
  }
  if (entry.pending) {
    // An earlier async onMessage is still running: keep the order.
    chain(
      entry,
      entry.pending.then(() => runOnMessage(delivery, entry, message)),
    );
    return;
  }
  const running = runOnMessage(delivery, entry, message);
  if (running) chain(entry, running);
}

/**
 * Ends the hold of a client whose setup is done: the broadcasts its replay found, of the
 * channels it is in now, then the live messages held meanwhile.
 */
export function releaseHeld(delivery: ClientDelivery, entry: HubEntry): void {
  const { held, missed } = entry;
  entry.held = undefined;
  entry.missed = undefined;
  entry.stream.unreserve(entry.heldBytes);
  entry.heldBytes = 0;
  // A gap: the client had everything up to its Last-Event-ID, and this instance's reader,
  // if it lags, has not delivered that far yet: what it delivers up to there is not new.
  if (!missed && entry.gapAt !== undefined) entry.replayedUpTo = entry.client.lastEventId;
  if (missed) {
    // A channel joined in onJoin whose broadcasts the replay had no room to keep: what it missed there is unknown.
    if (missed.skipped && joinedAnyOf(entry, missed.skipped)) entry.stream.resync();
    for (const message of missed.messages) if (reaches(entry, message)) deliverTo(delivery, entry, message);
    // Whatever the history held is not sent twice, whether it was held back live or comes in later.
    entry.replayedUpTo = missed.upTo;
  }
  if (held) for (const message of held) deliverTo(delivery, entry, message);
}

/** Whether the client is now in a channel it was not in when its replay was read, whose broadcasts that replay left out. */
function joinedAnyOf(entry: HubEntry, skipped: NonNullable<MissedBroadcasts['skipped']>): boolean {
  for (const channel of entry.client.channels) {
    if (!skipped.joined.has(channel) && (skipped.channels === true || skipped.channels.has(channel)))
      return true;
  }
  return false;
}

function write(
  delivery: ClientDelivery,
  entry: HubEntry,
  chunk: string | Buffer,
  id: string | undefined,
): void {
  if (entry.stream.writeEvent(chunk, id) === 'too-large') delivery.tooLarge++;
}

function chain(entry: HubEntry, pending: Promise<void>): void {
  entry.pending = pending;
  void pending.then(() => {
    if (entry.pending === pending) entry.pending = undefined;
  });
}

function runOnMessage(
  delivery: ClientDelivery,
  entry: HubEntry,
  message: DeliveredMessage,
): Promise<void> | undefined {
  const { client, onMessage } = entry;
  if (client.closed || !onMessage) return undefined;
  let result: unknown;
  try {
    result = onMessage(message.value, client);
  } catch (error) {
    logHookError(delivery, entry, error);
    return undefined;
  }
  if (!isThenable(result)) {
    sendResult(delivery, entry, message, result);
    return undefined;
  }
  return Promise.resolve(result).then(
    (resolved) => {
      const before = delivery.tooLarge;
      sendResult(delivery, entry, message, resolved);
      // Later than the delivery that would have counted it: said here.
      if (delivery.tooLarge > before) {
        delivery.tooLarge = before;
        delivery.logger.error(
          'onMessage-too-large',
          `onMessage for SSE client ${entry.client.id} returned a value over its maxEventBytes: it was sent a resync instead. Return smaller events or raise maxEventBytes.`,
        );
      }
    },
    (error: unknown) => logHookError(delivery, entry, error),
  );
}

function sendResult(
  delivery: ClientDelivery,
  entry: HubEntry,
  message: DeliveredMessage,
  result: unknown,
): void {
  if (result === undefined || result === null || entry.client.closed) return;
  let chunk: string | Buffer | undefined;
  try {
    // The message unchanged: the bytes everybody gets. Anything else keeps the message's
    // id, so that the client's Last-Event-ID still moves on.
    if (result === message.value) chunk = delivery.encoder.encoded(message);
    else {
      const event = toSseEvent(result);
      if (!event) return;
      const id = idOf(message) ?? event.id;
      const idLine = id === undefined ? '' : encodeId(id);
      // Under the client's limit, checked before the costly part of encoding.
      const { head, tail } = encodeEventParts(
        { ...event, id: undefined },
        entry.stream.maxEventBytes - idLine.length,
      );
      chunk = head + idLine + tail;
    }
  } catch (error) {
    if (error instanceof SseEventTooLargeError) {
      entry.stream.resync(1);
      delivery.tooLarge++;
      return;
    }
    const reason = (error as Error).message;
    delivery.logger.error(
      `onMessage-value:${reason}`,
      `onMessage for SSE client ${entry.client.id} returned a value that cannot be sent, so it was skipped; fix the gateway's onMessage: ${reason}`,
    );
    return;
  }
  if (chunk) write(delivery, entry, chunk, idOf(message));
}

function logHookError(delivery: ClientDelivery, entry: HubEntry, error: unknown): void {
  const reason = (error as Error)?.message ?? String(error);
  delivery.logger.error(
    `onMessage:${reason}`,
    `onMessage threw for SSE client ${entry.client.id}, so it missed that message; the stream stays open. Fix the gateway's onMessage: ${reason}`,
    (error as Error)?.stack,
  );
}
