// The floor under every server here: a bare `net` server, no HTTP parser and no response
// object. It reads the request head (up to the blank line), answers with the smallest head
// an EventSource accepts and a close-delimited body, keeps the socket in a Set and writes
// each frame to every socket. What any server holds per stream beyond this is its own.
const net = require('node:net');
const { runServer, listen, writeToAll } = require('./common');

const HEAD = Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n');
const END_OF_HEAD = '\r\n\r\n';

/** Still read after the head (and dropped): a socket that is not read would not see the client's reset. */
function discard() {}

function accept(socket, open) {
  // As Node's http server does: events leave at once, not after Nagle's delay.
  socket.setNoDelay(true);
  socket.on('error', discard);
  socket.once('close', () => open.delete(socket));
  let head = '';
  const readHead = (chunk) => {
    head += chunk.toString('latin1');
    if (!head.includes(END_OF_HEAD)) return;
    socket.removeListener('data', readHead);
    socket.on('data', discard);
    head = undefined;
    socket.write(HEAD);
    open.add(socket);
  };
  socket.on('data', readHead);
}

runServer(async () => {
  const open = new Set();
  const server = net.createServer((socket) => accept(socket, open));
  return {
    port: await listen(server),
    count: () => open.size,
    broadcast: (event) => writeToAll(open, event),
  };
});
