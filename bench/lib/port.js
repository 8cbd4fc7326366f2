// A free loopback port, for a server the benchmark (or a test) starts itself.
const { createServer } = require('node:net');
const { once } = require('node:events');

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

module.exports = { freePort };
