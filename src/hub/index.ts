export * from './in-memory.transport';
export * from './sse-broadcast-options.interface';
export * from './sse-hub-message.interface';
export * from './sse-hub.service';
export * from './sse-transport.interface';
