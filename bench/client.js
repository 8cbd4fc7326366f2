// The clients: one process holding every stream open, apart from the servers, so that a
// server keeps its core and its 20,000 open files to itself. Parsing is kept cheap (the
// client shares the machine with the server it measures): bytes are never decoded to
// strings; an event is whatever ends in "\n\n", and an event of ours is one holding the
// `"seq":` marker, whose seq and t are read straight from the bytes. Arrival times are
// taken once per chunk read from a socket, on the same clock as the servers' `t`.
//
// Commands (IPC, answered with the same id):
//   { cmd: 'open', url, count }       → { opened, open }   every stream got its 200 and headers
//   { cmd: 'arm', from, to, expected } → { armed }         count events seq from..to from now on
//   { cmd: 'collect', timeoutMs }     → per-seq t / first / last arrival / count, once `expected`
//                                        events arrived (or at the timeout, with complete: false)
//   { cmd: 'drop' }                   → { dropped }        every stream reset (RST: no TIME_WAIT)
//   { cmd: 'count' }                  → { open, closedByServer }
const http = require('node:http');
const { serve } = require('./lib/ipc');
const { now } = require('./lib/clock');
const { MARKER } = require('./lib/event');

const BATCH = 500;
const DELIMITER = Buffer.from('\n\n');
const SEQ_MARKER = Buffer.from(MARKER);
const T_MARKER = Buffer.from(',"t":');

/** Open streams: { socket, rest } where rest is an event cut by the end of a chunk. */
const streams = new Set();
let closedByServer = 0;

/** The measurement in progress, if any (see arm). */
let armed;

/** A TCP reset, unless end() has begun: Node then never closes the handle (reset EINVAL) and the process spins at exit. */
function reset(socket) {
  if (socket.destroyed) return;
  if (socket.writableEnded) socket.destroy();
  else socket.resetAndDestroy();
}

function openOne(url) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, headers: { accept: 'text/event-stream' } });
    req.once('error', reject);
    req.once('response', (res) => {
      if (res.statusCode !== 200) {
        reset(res.socket);
        reject(new Error(`${url}: HTTP ${res.statusCode}`));
        return;
      }
      // From now on an error is the stream's end (seen as 'close'), not a failed open.
      req.on('error', () => {});
      const stream = { socket: res.socket, rest: null, contentType: res.headers['content-type'] };
      streams.add(stream);
      res.on('data', (chunk) => onChunk(stream, chunk));
      // A reset from our side is expected; anything else is the server ending the stream.
      res.once('close', () => {
        if (streams.delete(stream) && !stream.dropped) closedByServer++;
      });
      res.on('error', () => {});
      resolve(stream);
    });
    req.end();
  });
}

function onChunk(stream, chunk) {
  const at = now();
  const buf = stream.rest ? Buffer.concat([stream.rest, chunk]) : chunk;
  let pos = 0;
  let marker = -2;
  for (;;) {
    const end = buf.indexOf(DELIMITER, pos);
    if (end === -1) break;
    if (marker < pos && marker !== -1) marker = buf.indexOf(SEQ_MARKER, pos);
    if (marker !== -1 && marker < end) record(buf, marker + SEQ_MARKER.length, end, at);
    pos = end + 2;
  }
  // A copy, so that the rest of the chunk can be freed.
  stream.rest = pos < buf.length ? Buffer.from(buf.subarray(pos)) : null;
}

function readNumber(buf, from, end) {
  let to = from;
  while (to < end && buf[to] !== 0x2c /* , */ && buf[to] !== 0x7d /* } */) to++;
  return Number(buf.toString('latin1', from, to));
}

function record(buf, at0, end, at) {
  if (!armed) return;
  let seq = 0;
  let i = at0;
  for (let c = buf[i]; c >= 0x30 && c <= 0x39; c = buf[++i]) seq = seq * 10 + (c - 0x30);
  const k = seq - armed.from;
  if (k < 0 || k >= armed.counts.length) return;
  if (armed.counts[k] === 0) {
    // First copy of this event: read its send time once.
    const t = buf.indexOf(T_MARKER, i);
    armed.t[k] = t !== -1 && t < end ? readNumber(buf, t + T_MARKER.length, end) : NaN;
    armed.first[k] = at;
  }
  armed.counts[k]++;
  armed.last[k] = at;
  armed.received++;
  if (armed.received === armed.expected) armed.finish();
}

const commands = {
  async open({ url, count }) {
    let contentType;
    for (let i = 0; i < count; i += BATCH) {
      const batch = await Promise.all(Array.from({ length: Math.min(BATCH, count - i) }, () => openOne(url)));
      contentType ??= batch[0]?.contentType;
    }
    return { opened: count, open: streams.size, contentType };
  },
  arm({ from, to, expected }) {
    const n = to - from + 1;
    let finish;
    const done = new Promise((resolve) => (finish = resolve));
    armed = {
      from,
      expected,
      received: 0,
      cpu: process.cpuUsage(),
      counts: new Array(n).fill(0),
      t: new Array(n).fill(NaN),
      first: new Array(n).fill(NaN),
      last: new Array(n).fill(NaN),
      done,
      finish,
    };
    return { armed: true };
  },
  async collect({ timeoutMs = 60_000 }) {
    const measuring = armed;
    if (!measuring) throw new Error('collect without arm');
    let timer;
    await Promise.race([measuring.done, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    armed = undefined;
    const { from, expected, received, counts, t, first, last } = measuring;
    // CPU this process spent meanwhile: near the wall time, the client was the bottleneck.
    const cpu = process.cpuUsage(measuring.cpu);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    return { from, expected, received, complete: received === expected, counts, t, first, last, cpuMs };
  },
  drop() {
    const dropped = streams.size;
    for (const stream of streams) {
      stream.dropped = true;
      reset(stream.socket);
    }
    streams.clear();
    return { dropped };
  },
  count: () => ({ open: streams.size, closedByServer }),
};

serve(commands);
process.on('exit', () => {
  for (const stream of streams) reset(stream.socket);
});
process.send({ ready: true });
