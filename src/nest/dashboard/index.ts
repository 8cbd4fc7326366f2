export * from './sse-dashboard-options.interface';
export * from './sse-dashboard-unguarded.error';
export * from './sse-dashboard.module';
