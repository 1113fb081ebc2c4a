'use strict';
// OpenTelemetry SDK set-up for the benchmark's Node service, as its documentation
// shows it: a NodeTracerProvider, the HTTP instrumentation, a BatchSpanProcessor with the
// SDK's default queue (2048) / batch (512) / delay (5 s), OTLP/HTTP protobuf export.
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { resourceFromAttributes } = require('@opentelemetry/resources');

const url = process.env.BENCH_OTLP_URL;
if (!url) {
  console.error('otel.js: BENCH_OTLP_URL is not set');
  process.exit(2);
}
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'bench-node-otel' }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
});
provider.register();
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
global.__benchOtelShutdown = () => provider.shutdown();
