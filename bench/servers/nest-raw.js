// A control: a plain Nest route on Express that writes the frame to each response itself,
// exactly like `raw`. It is the floor for any SSE on Nest with Express, and tells how much
// of a Nest-based server's gap to `raw` is the framework's response object rather than the
// SSE code.
const { Get, Res } = require('@nestjs/common');
const { runServer, listen, acceptStream, writeToAll, startNest } = require('./common');

runServer(async () => {
  const open = new Set();
  const { server } = await startNest({
    events: (res) => acceptStream(res, open),
    decorators: [Get('events')],
    params: [Res()],
  });
  return {
    port: await listen(server),
    count: () => open.size,
    broadcast: (event) => writeToAll(open, event),
  };
});
