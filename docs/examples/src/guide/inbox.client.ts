/// <reference lib="dom" />
// The page's side of docs/users.md (browser code, bundled with the page): the signed-in
// user's inbox, live, with a bearer token that EventSource could not send.
import { createSseClient } from 'nestjs-sse-hub/client';
import type { InboxEvents, InboxNotification } from './inbox.events';

/** Where the page shows the inbox (keyed by notification id), and where it gets its token. */
export interface InboxView {
  token(): Promise<string>;
  show(notifications: InboxNotification[]): void;
  add(notification: InboxNotification): void;
  signedOut(): void;
}

export function followInbox(view: InboxView) {
  const stream = createSseClient<InboxEvents>('/notifications/events', {
    // Asked again before each reconnect: a refreshed token is the one sent.
    headers: async () => ({ authorization: `Bearer ${await view.token()}` }),
  });
  // The whole inbox: first, and again after a gap (it follows the `resync`).
  stream.on('inbox', (notifications) => view.show(notifications));
  // Live, and on a reconnect what it missed: this user's only, each once.
  stream.on('notification', (notification) => view.add(notification));
  // A 401 (signed out, token revoked, logged out elsewhere) stops the stream: no retry storm.
  stream.onError((error) => {
    if (error.status === 401) view.signedOut();
  });
  return stream;
}
