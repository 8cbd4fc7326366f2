/**
 * A client as its channel listener is told of it: an `SseClient`, named here by what the
 * listener reads, so that this file and the client's need not import each other.
 */
export interface SseChannelMember {
  readonly id: string;
  readonly channels: ReadonlySet<string>;
}

/** Told when a client joins or leaves a channel, and when it closes, so the hub can index it. */
export interface SseChannelListener {
  channelJoined(client: SseChannelMember, channel: string): void;
  channelLeft(client: SseChannelMember, channel: string): void;
  /** Called once, before the close listeners, so that they see the client gone. */
  clientClosed(client: SseChannelMember): void;
}
