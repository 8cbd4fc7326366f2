// Holds SSE streams open in a process of its own, as real clients would be: the server's
// process keeps its event loop and its open-file budget (20,000 here) to itself.
// Commands by IPC, each answered once done:
//   { cmd: 'open', url, count } → { opened }   every stream has its first bytes
//   { cmd: 'drop' }             → { dropped }  every stream reset (RST: no TIME_WAIT)
//   { cmd: 'collect' }          → { ended, retries } once every stream has ended: the last retry each got
const { request } = require('node:http');

const BATCH = 500;
let streams = [];

function open(url) {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { accept: 'text/event-stream' } });
    req.once('error', reject);
    req.once('response', (res) => {
      const stream = { tail: '', ended: false, socket: res.socket };
      res.setEncoding('utf8');
      // Only the end of the body matters (the last retry): keep little.
      res.on('data', (chunk) => (stream.tail = (stream.tail + chunk).slice(-200)));
      stream.done = new Promise((done) => {
        const end = () => {
          stream.ended = true;
          done();
        };
        res.once('end', end);
        res.once('close', end);
      });
      res.once('data', () => resolve(stream));
    });
    req.end();
  });
}

/** A TCP reset, unless end() has begun: Node then never closes the handle (reset EINVAL) and the process spins at exit. */
function reset(socket) {
  if (socket.destroyed) return;
  if (socket.writableEnded) socket.destroy();
  else socket.resetAndDestroy();
}

const commands = {
  async open({ url, count }) {
    for (let i = 0; i < count; i += BATCH) {
      streams.push(
        ...(await Promise.all(Array.from({ length: Math.min(BATCH, count - i) }, () => open(url)))),
      );
    }
    return { opened: streams.length };
  },
  async drop() {
    for (const stream of streams) reset(stream.socket);
    const dropped = streams.length;
    streams = [];
    return { dropped };
  },
  async collect() {
    await Promise.all(streams.map((stream) => stream.done));
    const retries = streams.map((stream) => Number(/retry: (\d+)\n\n$/.exec(stream.tail)?.[1] ?? NaN));
    return { ended: streams.filter((stream) => stream.ended).length, retries };
  },
};

process.on('message', async (message) => {
  try {
    process.send(await commands[message.cmd](message));
  } catch (error) {
    process.send({ error: String(error) });
  }
});
process.on('disconnect', () => {
  for (const stream of streams) reset(stream.socket);
  process.exit(0);
});
