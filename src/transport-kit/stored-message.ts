import { type SseHubMessage } from '../hub';
import { type ThrottledLogger } from '../hub/throttled-logger';

/**
 * A hub message as a transport stores it: its idempotency key ('' for none), kept beside
 * it by the server, and the message as JSON, without its id (the server's to give) or key.
 */
export function storedForm(message: SseHubMessage): [key: string, entry: string] {
  if (message.type !== 'broadcast') return ['', JSON.stringify(message)];
  const entry = { ...message, id: undefined, idempotencyKey: undefined };
  return [message.idempotencyKey ?? '', JSON.stringify(entry)];
}

/**
 * Reads stored messages back: a broadcast gets the id its place on the server gives it;
 * what is not a hub message is skipped and logged once per kind, for what another program
 * may be writing where the transport keeps its messages.
 */
export class StoredMessageReader {
  /**
   * `place`: what holds the messages, as the log names it (`stream`, `table`); `kind`:
   * the log's kind for a message that cannot be read.
   */
  constructor(
    private readonly logger: ThrottledLogger,
    private readonly place: string,
    private readonly kind: string,
  ) {}

  /** `what` names the stored message in the log (`Row 12 of "public"."sse_hub_messages"`). */
  read(text: string | undefined, id: string, what: string): SseHubMessage | undefined {
    try {
      const message = JSON.parse(text ?? '') as SseHubMessage;
      return message.type === 'broadcast' ? { ...message, id } : message;
    } catch (error) {
      this.logger.error(
        this.kind,
        `${what} is not a hub message and was skipped (is another program writing to this ${this.place}? ` +
          `give the transport a ${this.place} of its own): ${(error as Error).message}`,
      );
      return undefined;
    }
  }
}
