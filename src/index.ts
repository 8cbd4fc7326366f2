/**
 * Server-Sent Events for NestJS: `SseModule`, `@SseRoute()` and its `SseGateway` hooks,
 * `SseClient` for one stream, `SseHub` to broadcast from anywhere, and their options,
 * errors and types.
 *
 * @module nestjs-sse-hub
 */
// What an app needs, and nothing else: every name here is documented (README.md, docs/).
// What the tests and the transports need besides is in ./internal, which is no entry point.

// The module, the route and its lifecycle.
export { SseModule } from './nest/sse.module';
export { SseRoute } from './nest/sse-route.decorator';
export type { SseRouteDecorator, SseRouteResult, SseRouteValues } from './nest/sse-route.decorator';
export { ConnectedClient } from './nest/connected-client.decorator';
export { SseRunSignal } from './nest/sse-run-signal.decorator';
export type { SseResumableOptions } from './nest/sse-resumable-options.interface';
export type { SseGateway } from './nest/sse-gateway.interface';
export type { SseModuleOptions } from './nest/sse-module-options.interface';
export type { SseChannels, SseRouteOptions } from './nest/sse-route-options.interface';
export type { SseConnectionsPer, SseStreamOptions } from './nest/sse-stream-options.interface';
export type { SseDashboardOptions } from './nest/dashboard/sse-dashboard-options.interface';
export { SseDashboardUnguardedError } from './nest/dashboard/sse-dashboard-unguarded.error';
export { SseDashboardModule } from './nest/dashboard/sse-dashboard.module';
export { SseModuleImportedTwiceError } from './nest/sse-module-imported-twice.error';
export { SseModuleMissingError } from './nest/sse-module-missing.error';

// One connection.
export { SseClient } from './connection/sse-client';
export type { SseCloseReason } from './connection/sse-close-reason.type';
export type { SseSendResult } from './connection/sse-send-result.type';
export type { SseReplayStatus } from './connection/sse-replay-status.type';
export type { SlowConsumerPolicy } from './connection/slow-consumer-policy.type';
export type { SseKeepRequest } from './connection/kept-request';
export { SseClosedError } from './connection/sse-closed.error';
export { SseChannelNameError } from './connection/sse-channel-name.error';
export { SseUserIdError } from './connection/sse-user-id.error';

// The hub.
export { SseHub } from './hub/sse-hub.service';
export type { SseBroadcastOptions } from './hub/sse-broadcast-options.interface';
export type { SseEventMap, SseEventOf } from './hub/sse-event-map.type';
export type { SseHubStats, SseRejectReason, SseRouteStats } from './hub/sse-hub-stats.interface';
export type { SsePresence, SsePresenceEntry, SsePresenceQuery } from './hub/sse-presence.interface';
export type { SseRunState, SseRunStatus } from './hub/sse-run-status.interface';
export { SseRunKeyError } from './hub/sse-run-key.error';
export { SsePresenceInfoError } from './hub/sse-presence-info.error';
export type { SseMeterProvider, SseMetricsOptions } from './hub/sse-metrics-options.interface';
export type { SseTransport } from './hub/sse-transport.interface';
// What a transport of one's own takes and gives (SseTransport's and SsePresenceStore's types).
export type { SseBroadcastMessage, SseHubMessage } from './hub/sse-hub-message.interface';
export type { SseHistoryResult } from './hub/sse-replay.type';
export type { SsePresenceStore } from './hub/sse-presence-store.interface';
export type {
  SseRunClaim,
  SseRunLimits,
  SseRunPage,
  SseRunRecord,
  SseRunStore,
} from './hub/sse-run-store.interface';
export { InMemoryRunStore } from './hub/in-memory.run-store';
export type { SsePresenceChange } from './hub/sse-presence.interface';
export type { SseTransportState } from './hub/sse-transport-state.interface';
export { SseTransportUnavailableError } from './hub/sse-transport-unavailable.error';

// Events.
export type { SseEvent } from './wire/sse-event.interface';
export { toSseEvent } from './wire/to-sse-event';
export { SseEncodeError } from './wire/sse-encode.error';
export { SseEventTooLargeError } from './wire/sse-event-too-large.error';
