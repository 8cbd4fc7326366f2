import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { SseHub } from 'nestjs-sse-hub';
import type { InboxEvents, InboxNotification } from './inbox.events';

@Injectable()
export class InboxService {
  // Stands for the app's notifications table: the inbox itself, which the stream only follows.
  private readonly rows: Array<InboxNotification & { recipientId: string }> = [];

  constructor(private readonly hub: SseHub<InboxEvents>) {}

  // From anywhere in the app (a controller, a queue consumer): the row first, then the event.
  async notify(recipientId: string, text: string): Promise<InboxNotification> {
    const notification = { id: randomUUID(), text };
    this.rows.push({ ...notification, recipientId });
    await this.publish(recipientId, notification);
    return notification;
  }

  // To that user's streams only, on every instance, and kept for their reconnects. A retry
  // of the same notification (the publish rejected while Redis was away, a job run twice)
  // has the same key, so their devices get it once.
  publish(recipientId: string, notification: InboxNotification): Promise<void> {
    return this.hub.broadcast(
      { event: 'notification', data: notification },
      { users: recipientId, idempotencyKey: `notification:${notification.id}` },
    );
  }

  // What a stream gets first, and again when what it missed is gone from the history.
  inboxOf(recipientId: string): InboxNotification[] {
    return this.rows.filter((row) => row.recipientId === recipientId).map(({ id, text }) => ({ id, text }));
  }
}
