// This library on Express, metrics off.
require('./hub-app').runHub({ platform: 'express', metrics: 'off' });
