// A control (run it by naming it in BENCH_SERVERS): raw http as `raw` does it, but with a
// close-delimited body instead of a chunked one, the framing this library uses on
// HTTP/1.1. It shows how much of the lead over `raw` the framing alone accounts for.
const { runServer, listen, rawServer, writeToAll } = require('./common');

runServer(async () => {
  const open = new Set();
  return {
    port: await listen(rawServer(open, { closeDelimited: true })),
    count: () => open.size,
    broadcast: (event) => writeToAll(open, event),
  };
});
