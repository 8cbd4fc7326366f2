// This library on Fastify (@nestjs/platform-fastify), metrics off.
require('./hub-app').runHub({ platform: 'fastify', metrics: 'off' });
