// The e2e suite's run on express (see jest.config.js and support/start-app.ts).
process.env.SSE_PLATFORM = 'express';
