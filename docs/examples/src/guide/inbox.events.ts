// The inbox's events, declared once: the server types its hub with them (SseHub<InboxEvents>)
// and the browser its stream (createSseClient<InboxEvents>).
export interface InboxNotification {
  id: string;
  text: string;
}

export interface InboxEvents {
  notification: InboxNotification;
}
