export * from './sse-health-details.interface';
export * from './sse-health.indicator';
