// This library on Fastify with its metrics going to a real OpenTelemetry SDK with a reader.
require('./hub-app').runHub({ platform: 'fastify', metrics: 'sdk' });
