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
}
