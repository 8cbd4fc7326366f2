// This library on Express with its metrics going to a real OpenTelemetry SDK with a reader.
require('./hub-app').runHub({ platform: 'express', metrics: 'sdk' });
