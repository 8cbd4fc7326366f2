/**
 * An OpenTelemetry `MeterProvider`, as far as the library uses one (`@opentelemetry/api`'s
 * type fits it; declared here so that apps without OpenTelemetry need not install it).
 *
 * @publicApi
 */
export interface SseMeterProvider {
  /** The meter the library records its instruments on, named `nestjs-sse-hub`. */
  getMeter(name: string, version?: string): object;
}

/**
 * Where the library's metrics go: by default to OpenTelemetry's global `MeterProvider`
 * (nothing is recorded until an SDK registers one), or to the given one.
 *
 * @publicApi
 */
export interface SseMetricsOptions {
  /** The provider to record on instead of the global one (a test's, or an SDK's not registered globally). */
  meterProvider?: SseMeterProvider;
}
