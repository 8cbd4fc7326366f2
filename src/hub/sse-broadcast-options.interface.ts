/**
 * Who a broadcast goes to: every client, or those of the given channels, or of the given
 * users (streams whose route's `user` option gave one of them), minus `except`.
 *
 * @publicApi
 */
export interface SseBroadcastOptions {
  /** One channel or several; a client in more than one of them gets the event once. */
  channels?: string | readonly string[];
  /**
   * One user id or several: only the streams of those users get it, on every instance
   * (with `channels` too, a stream must be of one of the users and in one of the channels).
   * It is kept for replay like any broadcast, and replayed only to those users' streams.
   * A stream without a user never gets it.
   */
  users?: string | readonly string[];
  /** Client ids to leave out, e.g. the sender's own. */
  except?: string | readonly string[];
  /**
   * Makes a retry safe: a broadcast with a key that was already published (among the
   * last 10,000 keys in process, within 10 minutes on Redis, while its row is kept on
   * PostgreSQL) is not published again. Pass the same key when you retry a broadcast
   * whose outcome you do not know (it rejected with `SseTransportUnavailableError` after
   * the server may have taken it): clients get it once.
   */
  idempotencyKey?: string;
}
