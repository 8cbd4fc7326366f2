// The baseline: Node's http, each broadcast framed once (one Buffer) and written as is
// to every open response. Nothing a library could do is cheaper than this.
const { runServer, listen, rawServer, writeToAll } = require('./common');

runServer(async () => {
  const open = new Set();
  return {
    port: await listen(rawServer(open)),
    count: () => open.size,
    broadcast: (event) => writeToAll(open, event),
  };
});
