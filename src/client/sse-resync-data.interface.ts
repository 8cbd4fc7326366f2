/**
 * The data of the `resync` event a server sends when some of what the client missed is
 * gone (trimmed from the history, or dropped while it was slow): refetch the state.
 *
 * @publicApi
 */
export interface SseResyncData {
  /** The id the stream resumed from (the client's `Last-Event-ID`), or `null` on a fresh stream. */
  lastEventId: string | null;
  /** How many events were lost, when the server knows. */
  dropped?: number;
}
