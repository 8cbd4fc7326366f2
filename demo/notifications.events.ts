// The per-user notifications' events: NotificationsController sends them, and
// browser/notifications.ts reads them, both typed from this map.

/** A notification, sent to one user's streams. */
export interface UserNotification {
  /** Who sent it (the sender's user). */
  from: string;
  text: string;
  /** ISO 8601, set by the server. */
  at: string;
}

/** The events of `GET /notifications/events`. */
export interface NotificationEvents {
  /** `onJoin`'s: whose stream it is, and how many the user has open (this one too). */
  welcome: { user: string; devices: number };
  notification: UserNotification;
}
