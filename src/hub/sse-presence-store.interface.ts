import { type SseHubMessage } from './sse-hub-message.interface';
import { type SsePresence, type SsePresenceChange } from './sse-presence.interface';

/**
 * Keeps the open streams of the application for `SseHub.presence()`, beside the
 * transport that carries messages (as a broker and a presence manager are two roles):
 * the hub reports each change to this instance's streams, and asks it for the streams of
 * every instance. A transport whose server can keep presence offers one as its
 * `presenceStore` (Redis, PostgreSQL); otherwise the hub keeps this instance's streams in
 * memory.
 *
 * @publicApi
 */
export interface SsePresenceStore {
  /**
   * Called once by the hub, before any change, with the function that hands it the
   * streams of an instance that died without a goodbye (`departed`: their channels hear a
   * `leave`), or of this one after it was taken for dead (`returned`: a `join`).
   */
  start?(notify: (notice: Extract<SseHubMessage, { type: 'departed' | 'returned' }>) => void): void;
  /** Records changes to this instance's streams, in the order they were made; never throws for a server away. */
  update(changes: SsePresenceChange[]): void;
  /**
   * Every open stream of the application across instances, or those of one channel, of
   * one user (`SsePresenceEntry.user`), or of both.
   */
  presence(channel?: string, user?: string): Promise<SsePresence>;
  /** Takes this instance's streams out of presence when the application shuts down, before the transport closes. */
  stop?(): void | Promise<void>;
}
