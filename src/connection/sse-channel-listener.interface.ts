import { type SseClient } from './sse-client';

/** Told when a client joins or leaves a channel, and when it closes, so the hub can index it. */
export interface SseChannelListener {
  channelJoined(client: SseClient, channel: string): void;
  channelLeft(client: SseClient, channel: string): void;
  /** Called once, before the close listeners, so that they see the client gone. */
  clientClosed(client: SseClient): void;
}
