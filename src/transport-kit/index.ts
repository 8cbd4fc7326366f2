/**
 * The transport kit: what every transport that carries hub messages through a server
 * (Redis, PostgreSQL; NATS would be a third) is made of, so that a transport is only
 * what is its server's own. Internal: not an entry point of the package.
 *
 * A transport implements `SseTransport` (see `../hub`): `publish` (hand the message to
 * `PublishBatch.publish`, whose `send` writes what one turn published in one round trip,
 * the server giving each broadcast its id), `subscribe` (start reading on a connection of
 * its own, from the newest message on, across reconnects, and deliver what it reads),
 * `history` (the broadcasts after an id, or a gap), `state` and `close`; and, if its
 * server can keep the application's presence, an `SsePresenceStore` as `presenceStore`.
 *
 * The kit gives it: `PublishBatch` (call order, batching, one promise per message),
 * `StoredMessageReader` (a stored message back as a hub message, what is not one logged
 * and skipped), `ConnectionWatch` (lost and recovered connections logged once each,
 * `state()`, `SseTransportUnavailableError` without a password), `ServerAddress` (where
 * the server is, and the secrets to scrub from what its driver says), `ThrottledLogger`,
 * `broadcastMessage` (a broadcast checked and encoded as `SseHub.broadcast` does it, for
 * a transport's own publishers), `Deferred`, `sleep` and `positiveInteger`; for a run
 * store (`runStore`), `ENDED_RUN_STATES` and `unstorable` (what no text column keeps as is).
 */
export { broadcastMessage } from '../hub/broadcast-message';
export { ThrottledLogger } from '../hub/throttled-logger';
export { unstorable } from '../connection/sse-channel-name.error';
export { type ConnectionRole, ConnectionWatch } from './connection-watch';
export { ENDED_RUN_STATES } from './ended-run-states';
export { Deferred, sleep } from './deferred';
export { type PresenceNotify } from './presence-notify.type';
export { positiveInteger } from './positive-integer';
export { PublishBatch, type PublishResults } from './publish-batch';
export { ServerAddress, type ServerParts } from './server-address';
export { StoredMessageReader, storedForm } from './stored-message';
