export * from './byte-size';
export * from './encode-event';
export * from './sse-encode.error';
export * from './sse-event.interface';
export * from './sse-event-too-large.error';
export * from './to-sse-event';
export * from './resync-event';
