/**
 * What a reconnecting client got: `complete` (every event it missed, maybe none),
 * `gap` (its `Last-Event-ID` was too old, unknown or not ours: it was sent a `resync`
 * event and must resynchronise, e.g. from a snapshot that `onJoin` sends), or `none`
 * (it sent no `Last-Event-ID`, or the route does not replay).
 *
 * @publicApi
 */
export type SseReplayStatus = 'complete' | 'gap' | 'none';
