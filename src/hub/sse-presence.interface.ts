/**
 * One open stream as `SseHub.presence()` lists it: its id, its channels, its user, and
 * what the route's `presence` option returned for it (a name, an avatar), if the route
 * has one.
 *
 * @publicApi
 */
export interface SsePresenceEntry {
  /** The client's id (`SseClient.id`). */
  id: string;
  /** The channels it is in. */
  channels: string[];
  /** What the route's `presence` option returned for it; `null` without one. */
  info: unknown;
  /** Whose stream it is (`SseClient.user`, from the route's `user` option); `undefined` for none. */
  user?: string;
}

/**
 * What `SseHub.presence()` is asked for: the streams of one channel, of one user, or of
 * both (a user's streams in a channel); every stream without either.
 *
 * @publicApi
 */
export interface SsePresenceQuery {
  /** Only the streams in this channel. */
  channel?: string;
  /** Only the streams of this user (`SseClient.user`): how many devices they have open. */
  user?: string;
}

/**
 * The open streams of the whole application (every instance), or of one channel.
 *
 * @publicApi
 */
export interface SsePresence {
  /** How many streams are open. */
  count: number;
  /** Each of them. */
  clients: SsePresenceEntry[];
}

/**
 * A change to this instance's streams, as the hub reports it to a transport that keeps
 * presence for the application: a stream that came or whose channels changed (`set`,
 * with the channels it left, and whether its route has `presenceEvents`: then, if this
 * instance dies without a goodbye, the instance that notices sends its channels a
 * `leave`), or one that went (`remove`, with its last channels).
 *
 * @publicApi
 */
export type SsePresenceChange =
  | {
      /** A stream came, or its channels changed. */
      type: 'set';
      /** The stream as it is now. */
      entry: SsePresenceEntry;
      /** The channels it left with this change. */
      left: string[];
      /** Whether its route has `presenceEvents` (its channels hear its `leave` if the instance dies). */
      announces?: boolean;
    }
  | {
      /** A stream went. */
      type: 'remove';
      /** Its client id. */
      id: string;
      /** The channels it was in last. */
      channels: string[];
    };
