/**
 * A `@nestjs/terminus` health indicator for the hub and its transport.
 *
 * @module nestjs-sse-hub/terminus
 */
export * from './sse-health-details.interface';
export * from './sse-health.indicator';
