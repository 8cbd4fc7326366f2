/**
 * What a transport carries between hubs. `value` is what the caller gave (JSON-safe
 * when the transport leaves the process); each hub encodes it once for its clients.
 *
 * @publicApi
 */
export type SseHubMessage =
  | { type: 'broadcast'; value: unknown; channels?: string[]; except?: string[] }
  | { type: 'send'; clientId: string; value: unknown }
  | { type: 'close'; clientId: string };
