// `hub` with each stream in one channel (of 100): against `hub`, what one joined channel costs per stream.
require('./hub-app').runHub({ platform: 'express', metrics: 'off', join: 'channel' });
