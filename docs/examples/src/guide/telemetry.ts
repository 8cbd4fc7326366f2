// telemetry.ts: import it first in main.ts (`import './telemetry';`), before the app is created.
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

// Serves http://localhost:9464/metrics for Prometheus to scrape.
const exporter = new PrometheusExporter({ port: 9464 });
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));
