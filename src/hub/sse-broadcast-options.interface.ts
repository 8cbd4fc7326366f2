/**
 * Who a broadcast goes to: every client, or those of the given channels, minus `except`.
 *
 * @publicApi
 */
export interface SseBroadcastOptions {
  /** One channel or several; a client in more than one of them gets the event once. */
  channels?: string | readonly string[];
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
