// The events the hub carries, declared once: event name → the type of its data.
export interface ChatMessage {
  from: string;
  to?: string; // a client id: only that client gets the message
  text: string;
}

export interface ChatEvents {
  welcome: { id: string };
  message: ChatMessage;
}
