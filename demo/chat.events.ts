// The chat room's and the ticker's events: the server (RoomsController, TickerController)
// and the page (browser/chat.ts) are typed from these maps, so that a renamed event or a
// changed payload fails to compile on both sides.

/** A message of the room, as broadcast. */
export interface ChatMessage {
  author: string;
  text: string;
  /** ISO 8601, set by the server. */
  at: string;
}

/** A stream that joined or left the room (`presenceEvents`). */
export interface RoomPresenceChange {
  channel: string;
  id: string;
  info: unknown;
}

/** The events of `GET /rooms/:room/events`. */
export interface RoomEvents {
  /** `onJoin`'s: the stream's client id. */
  welcome: { id: string };
  message: ChatMessage;
  join: RoomPresenceChange;
  leave: RoomPresenceChange;
}

/** The events of `GET /ticker`. */
export interface TickerEvents {
  tick: { n: number; time: string };
}
