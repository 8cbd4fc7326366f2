// NestJS's built-in @Sse(): every stream subscribes to one shared Subject; a broadcast is
// subject.next({ data }). Nest serializes the event per subscriber.
const { Sse } = require('@nestjs/common');
const { Subject } = require('rxjs');
const { runServer, listen, startNest } = require('./common');

const subject = new Subject();

runServer(async () => {
  const { server } = await startNest({ events: () => subject.asObservable(), decorators: [Sse('events')] });
  // Nest keeps no count of its SSE streams: count the open /events responses instead.
  let open = 0;
  server.on('request', (req, res) => {
    if (req.url !== '/events') return;
    open++;
    res.once('close', () => open--);
  });
  return {
    port: await listen(server),
    count: () => open,
    broadcast: (event) => subject.next({ data: event }),
  };
});
