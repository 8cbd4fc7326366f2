import { type SsePresenceStore } from '../hub';

/** What a presence store is handed by `start`: it tells the hub of streams that departed or returned. */
export type PresenceNotify = Parameters<NonNullable<SsePresenceStore['start']>>[0];
