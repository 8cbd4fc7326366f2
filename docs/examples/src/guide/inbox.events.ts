// The inbox's events, declared once: the server types its hub with them (SseHub<InboxEvents>)
// and the browser its stream (createSseClient<InboxEvents>).
export interface InboxNotification {
  id: string;
  text: string;
}

export interface InboxEvents {
  /** The inbox as stored: first on a new stream, and after a gap in the replay. */
  inbox: InboxNotification[];
  notification: InboxNotification;
}
