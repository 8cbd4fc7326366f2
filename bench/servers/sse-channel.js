// sse-channel 4 on Node's http: one channel, addClient(req, res) per request, send() to all.
// jsonEncode makes it JSON-encode the data itself (once per broadcast).
const http = require('node:http');
const SseChannel = require('sse-channel');
const { runServer, listen } = require('./common');

runServer(async () => {
  // Its ping cannot be turned off (0 means the 20 s default): push it past any run.
  const channel = new SseChannel({ jsonEncode: true, pingInterval: 2 ** 31 - 1 });
  const server = http.createServer((req, res) => {
    if (req.url !== '/events') {
      res.writeHead(404).end();
      return;
    }
    channel.addClient(req, res);
  });
  const port = await listen(server);
  return {
    port,
    count: () => channel.getConnectionCount(),
    broadcast: (event) => channel.send({ data: event }),
  };
});
