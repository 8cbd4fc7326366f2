// A control (run it by naming it in BENCH_SERVERS): raw http as `raw` does it, but with a
// close-delimited body instead of a chunked one, the framing this library uses on
// HTTP/1.1. It shows how much of the lead over `raw` the framing alone accounts for.
const http = require('node:http');
const { runServer, listen, acceptStream, writeToAll } = require('./common');

runServer(async () => {
  const open = new Set();
  const server = http.createServer((req, res) => {
    if (req.url !== '/events') {
      res.writeHead(404).end();
      return;
    }
    // Node drops the chunked framing when both length headers are removed.
    res.removeHeader('transfer-encoding');
    res.removeHeader('content-length');
    acceptStream(res, open);
  });
  return { port: await listen(server), count: () => open.size, broadcast: (event) => writeToAll(open, event) };
});
