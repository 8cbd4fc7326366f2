// A real OpenTelemetry SDK for the hub's metrics: a MeterProvider from
// @opentelemetry/sdk-metrics with a PeriodicExportingMetricReader that collects every
// 100 ms (far more often than a real exporter, so that collections fall inside every
// burst) into an InMemoryMetricExporter that keeps only the latest export (memory stays
// flat over a run, as with an exporter that sends and forgets).
const {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} = require('@opentelemetry/sdk-metrics');

const INTERVAL_MS = 100;

class LatestExport extends InMemoryMetricExporter {
  exports = 0;

  export(metrics, done) {
    this.exports++;
    this.reset();
    super.export(metrics, done);
  }
}

/** `{ meterProvider, snapshot() }`: snapshot() collects now and says what the library recorded. */
function sdkMeter() {
  const exporter = new LatestExport(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: INTERVAL_MS,
    exportTimeoutMillis: INTERVAL_MS,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    meterProvider,
    async snapshot() {
      const { resourceMetrics } = await reader.collect();
      const values = {};
      for (const scope of resourceMetrics.scopeMetrics) {
        if (scope.scope.name !== 'nestjs-sse-hub') continue;
        for (const metric of scope.metrics) {
          // Counters' points are numbers; histograms' are { count, sum, ... }: their count.
          values[metric.descriptor.name] = metric.dataPoints.reduce(
            (sum, point) => sum + (typeof point.value === 'number' ? point.value : point.value.count),
            0,
          );
        }
      }
      return { exports: exporter.exports, intervalMs: INTERVAL_MS, values };
    },
  };
}

module.exports = { sdkMeter };
