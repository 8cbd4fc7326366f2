/**
 * An OpenTelemetry `MeterProvider`, as far as the library uses one (`@opentelemetry/api`'s
 * type fits it; declared here so that apps without OpenTelemetry need not install it).
 *
 * @publicApi
 */
export interface SseMeterProvider {
  getMeter(name: string, version?: string): object;
}

/**
 * Where the library's metrics go: by default to OpenTelemetry's global `MeterProvider`
 * (nothing is recorded until an SDK registers one), or to the given one.
 *
 * @publicApi
 */
export interface SseMetricsOptions {
  meterProvider?: SseMeterProvider;
}
