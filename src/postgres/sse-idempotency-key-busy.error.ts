import { ConflictException } from '@nestjs/common';

/**
 * A broadcast was refused because its idempotency key is being published in a
 * transaction that has not ended (`publishIn` in the app's transaction, still open). It
 * was not published, and nothing waited for that transaction: the hub's other broadcasts
 * go on. Retry after the transaction ends: if it committed, the retry is a repeat and is
 * not published again; if it rolled back, the retry is published. A route that lets it
 * escape answers 409, as Nest answers a `ConflictException`; the body names no key.
 *
 * @publicApi
 */
export class SseIdempotencyKeyBusyError extends ConflictException {
  /** Its class name, as logs and stack traces show it. */
  override readonly name = 'SseIdempotencyKeyBusyError';

  constructor(
    /** The key the open transaction is publishing. */
    readonly idempotencyKey: string,
  ) {
    super('This event is being published by a transaction that has not ended: retry after it ends.', {
      description: 'Conflict',
    });
    this.message =
      `The idempotency key ${JSON.stringify(idempotencyKey)} is being published in a transaction ` +
      'that has not ended (publishIn): this broadcast was not published. ' +
      'Retry after that transaction commits (the retry is then not published again) or rolls back (then it is).';
  }
}
