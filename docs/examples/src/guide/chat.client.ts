/// <reference lib="dom" />
// The page's side (browser code, bundled with the page): the same ChatEvents the server's
// SseHub<ChatEvents> is typed with, and a bearer token the guard reads.
import { createSseClient } from 'nestjs-sse-hub/client';
import type { ChatEvents, ChatMessage } from '../chat.events';

declare const auth: { token(): Promise<string>; signIn(): void };
declare function render(message: ChatMessage): void;
declare function refetchRoom(): void;
declare function showStatus(text: string): void;

export function openInbox() {
  const stream = createSseClient<ChatEvents>('/me/events', {
    // Called before every attempt: a reconnect after the token was refreshed sends the new one.
    headers: async () => ({ authorization: `Bearer ${await auth.token()}` }),
  });
  stream.on('message', (message) => render(message)); // message: ChatMessage
  stream.on('welcome', ({ id }) => showStatus(`connected as ${id}`));
  // Built in: some of what was missed is gone from the history. Refetch the state.
  stream.on('resync', () => refetchRoom());
  stream.onError((error) => {
    // A 401 stops it for good (no reconnect storm): sign in again, then open a new one.
    if (error.status === 401) auth.signIn();
    else if (error.willRetry) showStatus(`${error.message} Reconnecting…`);
  });
  return stream; // stream.close() when the page no longer needs it
}
