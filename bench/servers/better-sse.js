// better-sse 0.16 on Node's http: a session per request, registered with one channel;
// channel.broadcast(data, eventName) pushes to every session (serialized per session).
const http = require('node:http');
const { createChannel, createSession } = require('better-sse');
const { runServer, listen } = require('./common');

runServer(async () => {
  const channel = createChannel();
  const server = http.createServer(async (req, res) => {
    if (req.url !== '/events') {
      res.writeHead(404).end();
      return;
    }
    // No keepalive comments and no initial retry field, as for the other servers.
    const session = await createSession(req, res, { keepAlive: null, retry: null });
    channel.register(session);
  });
  const port = await listen(server);
  return {
    port,
    count: () => channel.sessionCount,
    broadcast: (event) => channel.broadcast(event, 'message'),
  };
});
