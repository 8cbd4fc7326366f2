import { unstorable } from '../connection/sse-channel-name.error';

/** The longest run key, in UTF-8 bytes: keys live in the transports' servers, beside each event. */
export const MAX_RUN_KEY_BYTES = 1024;

/**
 * A resumable run's key that cannot be used: not a string, empty, longer than 1,024 bytes,
 * or one no transport can store as it is (NUL, a lone surrogate). A route whose
 * `resumable.key` gives one answers 400 before its stream starts.
 *
 * @publicApi
 */
export class SseRunKeyError extends TypeError {
  /** Its class name, as logs and stack traces show it. */
  override readonly name = 'SseRunKeyError';

  constructor(
    /** What was given as the key. */
    readonly key: unknown,
    reason: string,
  ) {
    super(
      `${String(JSON.stringify(key) ?? key).slice(0, 200)} cannot be a run key: ${reason}. ` +
        'Build keys from ids you control, e.g. `answer:${req.user.id}:${req.params.id}`.',
    );
  }
}

/** `key`, if it can be a run key; else throws `SseRunKeyError`. */
export function checkRunKey(key: unknown): string {
  if (typeof key !== 'string')
    throw new SseRunKeyError(key, `it is ${key === null ? 'null' : typeof key}, not a string`);
  if (key === '') throw new SseRunKeyError(key, 'it is empty');
  const reason = unstorable(key);
  if (reason !== undefined) throw new SseRunKeyError(key, reason);
  if (Buffer.byteLength(key) > MAX_RUN_KEY_BYTES)
    throw new SseRunKeyError(key, `it is longer than ${MAX_RUN_KEY_BYTES} bytes`);
  return key;
}
