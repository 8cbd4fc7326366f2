// The baseline: Node's http, each broadcast framed once (one Buffer) and written as is
// to every open response. Nothing a library could do is cheaper than this.
const http = require('node:http');
const { runServer, listen, acceptStream, writeToAll } = require('./common');

runServer(async () => {
  const open = new Set();
  const server = http.createServer((req, res) => {
    if (req.url !== '/events') {
      res.writeHead(404).end();
      return;
    }
    acceptStream(res, open);
  });
  return { port: await listen(server), count: () => open.size, broadcast: (event) => writeToAll(open, event) };
});
