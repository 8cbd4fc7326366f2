/**
 * What happens to a client that has more than `maxPendingBytes` written but not yet
 * taken by its socket: `close` ends its stream (reason `slow-consumer`; it reconnects
 * and replays what it missed); `drop` skips events for it until its socket drains,
 * then sends it a `resync` event saying how many it missed.
 *
 * @publicApi
 */
export type SlowConsumerPolicy = 'close' | 'drop';
