// `hub-channel` with presence info per stream: against it, what one presence entry costs per stream.
require('./hub-app').runHub({ platform: 'express', metrics: 'off', join: 'presence' });
