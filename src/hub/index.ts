export * from './event-id';
export * from './in-memory.transport';
export * from './sse-broadcast-options.interface';
export * from './sse-hub-message.interface';
export * from './sse-hub-options.interface';
export * from './sse-hub.service';
export * from './sse-replay.type';
export * from './sse-transport.interface';
