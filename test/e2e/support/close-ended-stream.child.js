// A test process that closes a stream whose response has already ended (a 406), as a
// user's test does in its `finally`, then has nothing left to do: it must exit by itself.
// (A TCP reset of a socket whose end() had begun left a handle Node never closed, and
// the process spun at exit forever.) Uses the build, as a user's app does.
const { createServer } = require('node:http');
const { openSseStream } = require('../../../dist/testing');

const server = createServer((req, res) => {
  res.writeHead(406, { 'content-type': 'text/plain' });
  res.end('not acceptable');
});
server.listen(0, '127.0.0.1', async () => {
  const stream = await openSseStream(`http://127.0.0.1:${server.address().port}`, '/');
  await stream.closed();
  stream.close();
  server.close();
});
