// The baseline: Node's http, each broadcast framed once (one Buffer) and written as is
// to every open response. Nothing a library could do is cheaper than this.
const http = require('node:http');
const { runServer, listen } = require('./common');

runServer(async () => {
  const open = new Set();
  const server = http.createServer((req, res) => {
    if (req.url !== '/events') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    // Headers go out now, so the client sees the stream open before the first event.
    res.flushHeaders();
    open.add(res);
    res.once('close', () => open.delete(res));
  });
  const port = await listen(server);
  return {
    port,
    count: () => open.size,
    broadcast(event) {
      const frame = Buffer.from(`data: ${JSON.stringify(event)}\n\n`);
      for (const res of open) res.write(frame);
    },
  };
});
