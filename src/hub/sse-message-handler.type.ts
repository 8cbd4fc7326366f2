import { type SseClient } from '../connection';

/**
 * Turns a hub message into what one client is sent: the message itself (sent as the
 * bytes encoded once for everybody), another value, or nothing (`undefined`/`null`).
 */
export type SseMessageHandler = (message: unknown, client: SseClient) => unknown;
