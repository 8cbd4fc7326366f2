export * from './connected-client.decorator';
export * from './sse-gateway.interface';
export * from './sse-module-options.interface';
export * from './sse-route-options.interface';
export * from './sse-route.decorator';
export * from './sse-stream-options.interface';
export { SSE_MODULE_OPTIONS } from './sse.module-definition';
export * from './sse.interceptor';
export * from './sse.module';
