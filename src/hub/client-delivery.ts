import { encodeEventParts, encodeId, SseEventTooLargeError, toSseEvent } from '../wire';
import { type HubEntry } from './client-registry';
import { type DeliveredMessage, type HubMessageEncoder } from './hub-message-encoder';
import { isThenable } from './is-thenable';
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
  // Held while its replay is pending; skipped if the replay sent it already.
  if (entry.replay?.hold(message, encoded?.length ?? 0) || entry.replay?.replayedAlready(message)) return;
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
 * Sends one message to each of its recipients, each on its own: one whose write fails is
 * closed (it reconnects) and does not cost the others the message. Failures, and clients
 * it was too large for, are logged once for the message. Returns how many it went to.
 */
export function deliverToAll(
  delivery: ClientDelivery,
  recipients: Iterable<HubEntry>,
  message: DeliveredMessage,
  encoded: Buffer | undefined,
): number {
  delivery.tooLarge = 0;
  let failed = 0;
  let delivered = 0;
  let failure: unknown;
  for (const entry of recipients) {
    delivered++;
    try {
      deliverTo(delivery, entry, message, encoded);
    } catch (error) {
      failed++;
      failure ??= error;
      entry.stream.end('error');
    }
  }
  if (failed > 0) {
    const reason = (failure as Error)?.message ?? String(failure);
    delivery.logger.error(
      `deliver:${reason}`,
      `Delivering a hub message failed for ${failed} client(s), whose streams were closed (they reconnect): ${reason}`,
      (failure as Error)?.stack,
    );
  }
  if (delivery.tooLarge > 0) {
    const what = message.type === 'broadcast' ? `Broadcast ${message.id ?? ''}` : 'A message';
    delivery.logger.error(
      'too-large',
      `${what} (${encoded?.length ?? '?'} bytes) is over the maxEventBytes of ${delivery.tooLarge} client(s): ` +
        'they were sent a resync instead. Send smaller events or raise maxEventBytes.',
    );
  }
  return delivered;
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
