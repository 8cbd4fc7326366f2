// The e2e suite's run on fastify (see jest.config.js and support/start-app.ts).
process.env.SSE_PLATFORM = 'fastify';
