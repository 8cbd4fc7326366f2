// The resumable-runs benchmark's readers (bench/runs.js): one process holding every
// reader, apart from the servers. Each reader is a plain TCP socket with a hand-written
// HTTP/1.1 request (the library sends streams close-delimited, so the body is the event
// stream itself); parsing reads bytes, never strings. Each token's data is
// {"n":<n>,"t":<produced at>,"tok":…}: the reader checks that n counts from 0 with no gap
// and no repeat, and records receive − produce, on the same clock as the server's t
// (bench/lib/clock.js), once per chunk read; a token produced before its reader's response
// head arrived (a GET joining a run under way gets those at once) counts from the head: what
// is measured is the delay per token, and the time to open a stream apart (openMs).
//
// Commands (IPC, answered with the same id):
//   { cmd: 'open', route, a, b, ids, tokens, delay, held } → { opened } once every reader has its head
//        route 'runs': per id, POST a/runs/<id> (starts the run), and once its 200 is in,
//        GET b/runs/<id> (joins it); route 'plain': GET a/plain/<id> and GET b/plain/<id>,
//        each produced for its own request. a and b are ports (the same one in process).
//        held: the producers wait for the servers' `go` (see servers/runs.js).
//   { cmd: 'half', timeoutMs }   → { at, delivered }   once half of every token expected arrived
//   { cmd: 'finish', timeoutMs } → what the readers got: counts, failures, latency percentiles, span
//   { cmd: 'drop' }              → { dropped }          every socket still open reset
const net = require('node:net');
const { serve } = require('./lib/ipc');
const { now } = require('./lib/clock');

/** Readers opened at once: a batch's connections fit the servers' listen backlog. */
const BATCH = 250;
const HEAD_END = Buffer.from('\r\n\r\n');
const DELIMITER = Buffer.from('\n\n');
const N_MARKER = Buffer.from('{"n":');
const T_MARKER = Buffer.from(',"t":');
/** Failures kept word for word (all are counted). */
const KEEP_FAILURES = 5;

/** The pass in progress. */
let pass;

function newPass({ route, tokens, readers }) {
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  return {
    route,
    tokens,
    expected: readers * tokens,
    readers: new Set(),
    ended: 0,
    total: readers,
    delivered: 0,
    // By reader: the first of each pair (the POST, or plain's GET on a), the second (the joining GET).
    latencies: [new Float64Array((readers / 2) * tokens), new Float64Array((readers / 2) * tokens)],
    counts: [0, 0],
    // Request sent → response head, by reader.
    opens: [[], []],
    firstProduced: Infinity,
    lastArrival: -Infinity,
    failures: [],
    failureCount: 0,
    halfWaiters: [],
    cpu: process.cpuUsage(),
    done,
    finish,
  };
}

function fail(reader, message) {
  if (reader.failed) return;
  reader.failed = true;
  pass.failureCount++;
  if (pass.failures.length < KEEP_FAILURES) pass.failures.push(`${reader.label}: ${message}`);
}

/** A reader is over: the server ended its stream, or it failed. Each is counted once. */
function settle(reader, socket) {
  if (reader.settled) return;
  reader.settled = true;
  pass.readers.delete(reader);
  if (!socket.destroyed) socket.resetAndDestroy();
  if (++pass.ended === pass.total) pass.finish();
}

/** Opens one reader; resolves once its response head is in (rejects on anything but 200). */
function openReader(port, method, path, label, second) {
  const reader = {
    label,
    second,
    sentAt: 0,
    headAt: 0,
    head: null,
    rest: null,
    next: 0,
    failed: false,
    settled: false,
    socket: null,
  };
  pass.readers.add(reader);
  return new Promise((resolve) => {
    // allowHalfOpen: the server's end is seen, and answered with a reset (no TIME_WAIT).
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    reader.socket = socket;
    socket.setNoDelay(true);
    socket.once('connect', () => {
      const body = method === 'POST' ? 'content-length: 0\r\n' : '';
      reader.sentAt = now();
      socket.write(
        `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\naccept: text/event-stream\r\n${body}\r\n`,
      );
    });
    socket.on('data', (chunk) => {
      if (reader.head !== 'ok') return onHead(reader, socket, chunk, resolve);
      onBody(reader, chunk);
    });
    socket.once('end', () => {
      if (reader.head === 'ok' && reader.next !== pass.tokens)
        fail(reader, `the stream ended after ${reader.next} of ${pass.tokens} tokens`);
      else if (reader.head !== 'ok') fail(reader, 'the connection ended before a response head');
      settle(reader, socket);
      resolve(false);
    });
    socket.once('close', () => {
      if (!reader.settled) fail(reader, 'the connection closed before the end of its stream');
      settle(reader, socket);
      resolve(false);
    });
    socket.on('error', () => {});
  });
}

function onHead(reader, socket, chunk, resolve) {
  const buf = reader.head ? Buffer.concat([reader.head, chunk]) : chunk;
  const end = buf.indexOf(HEAD_END);
  if (end === -1) return void (reader.head = buf);
  const head = buf.toString('latin1', 0, end);
  const status = head.slice(9, 12);
  if (status !== '200' || /\r\ntransfer-encoding:/i.test(head)) {
    fail(reader, `answered ${head.split('\r\n')[0]}${status === '200' ? ' with a framed body' : ''}`);
    settle(reader, socket);
    return resolve(false);
  }
  reader.head = 'ok';
  reader.headAt = now();
  pass.opens[reader.second ? 1 : 0].push(reader.headAt - reader.sentAt);
  resolve(true);
  if (end + 4 < buf.length) onBody(reader, buf.subarray(end + 4));
}

function onBody(reader, chunk) {
  const at = now();
  const buf = reader.rest ? Buffer.concat([reader.rest, chunk]) : chunk;
  let pos = 0;
  for (;;) {
    const end = buf.indexOf(DELIMITER, pos);
    if (end === -1) break;
    record(reader, buf, pos, end, at);
    pos = end + 2;
  }
  // A copy, so that the rest of the chunk can be freed.
  reader.rest = pos < buf.length ? Buffer.from(buf.subarray(pos)) : null;
}

function readNumber(buf, from, end) {
  let to = from;
  while (to < end && buf[to] !== 0x2c /* , */ && buf[to] !== 0x7d /* } */) to++;
  return Number(buf.toString('latin1', from, to));
}

/** One event, buf[from, end): a token, checked and timed; anything else (error, resync) fails the reader. */
function record(reader, buf, from, end, at) {
  const marker = buf.indexOf(N_MARKER, from);
  if (marker === -1 || marker > end) {
    return fail(reader, `an event that is no token: ${JSON.stringify(buf.toString('utf8', from, end))}`);
  }
  const n = readNumber(buf, marker + N_MARKER.length, end);
  if (n !== reader.next) return fail(reader, `token ${n} where ${reader.next} was due`);
  reader.next++;
  const tAt = buf.indexOf(T_MARKER, marker);
  const t = tAt !== -1 && tAt < end ? readNumber(buf, tAt + T_MARKER.length, end) : NaN;
  if (n === 0 && t < pass.firstProduced) pass.firstProduced = t;
  pass.lastArrival = at;
  const which = reader.second ? 1 : 0;
  // A token produced before its reader's head came (a GET joining a run under way) counts from the head.
  pass.latencies[which][pass.counts[which]++] = at - Math.max(t, reader.headAt);
  pass.delivered++;
  if (pass.delivered * 2 >= pass.expected && pass.halfWaiters.length > 0) {
    for (const wake of pass.halfWaiters.splice(0)) wake();
  }
}

async function open({ route, a, b, ids, tokens, delay, held }) {
  const query = `?tokens=${tokens}&delay=${delay}${held ? '&held=1' : ''}`;
  for (let i = 0; i < ids.length; i += BATCH) {
    await Promise.all(
      ids.slice(i, i + BATCH).map(async (id) => {
        if (route === 'plain') {
          await Promise.all([
            openReader(a, 'GET', `/plain/${id}${query}`, `GET plain ${id} on ${a}`, false),
            openReader(b, 'GET', `/plain/${id}${query}`, `GET plain ${id} on ${b} (2nd)`, true),
          ]);
        } else if (await openReader(a, 'POST', `/runs/${id}${query}`, `POST ${id} on ${a}`, false)) {
          await openReader(b, 'GET', `/runs/${id}`, `GET ${id} on ${b}`, true);
        } else {
          // No run to join: the GET is counted as failed with its POST.
          const reader = { label: `GET ${id} on ${b}`, failed: false };
          fail(reader, 'not opened: its POST failed');
          if (++pass.ended === pass.total) pass.finish();
        }
      }),
    );
  }
}

/** Nearest-rank percentile (p in 0..100) of sorted values, as lib/stats.js's, without copying a million of them. */
function nearestRank(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** p50 … max of `values`, sorted in place; null when there are none. */
function percentiles(values) {
  if (values.length === 0) return null;
  values.sort();
  const at = (p) => nearestRank(values, p);
  return { p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: values[values.length - 1] };
}

function timeout(ms) {
  let timer;
  const promise = new Promise((resolve) => (timer = setTimeout(resolve, ms)));
  return { promise, clear: () => clearTimeout(timer) };
}

const commands = {
  async open(args) {
    if (pass && pass.ended < pass.total) throw new Error('a pass is still running');
    pass = newPass({ ...args, readers: 2 * args.ids.length });
    await open(args);
    return { opened: pass.readers.size };
  },
  /** Once half of the tokens arrived; or every reader ended short of it (failed: `finish` says how). */
  async half({ timeoutMs = 60_000 }) {
    const current = pass;
    if (current.delivered * 2 < current.expected) {
      const limit = timeout(timeoutMs);
      const halfway = new Promise((resolve) => current.halfWaiters.push(resolve));
      await Promise.race([halfway, current.done, limit.promise]);
      limit.clear();
    }
    const ended = current.ended === current.total;
    if (current.delivered * 2 < current.expected && !ended)
      throw new Error(
        `only ${current.delivered} of ${current.expected} tokens arrived within ${timeoutMs} ms`,
      );
    return { at: now(), delivered: current.delivered };
  },
  async finish({ timeoutMs = 120_000 }) {
    const current = pass;
    const limit = timeout(timeoutMs);
    await Promise.race([current.done, limit.promise]);
    limit.clear();
    const open = current.readers.size;
    for (const reader of current.readers) {
      fail(reader, `still open after ${timeoutMs} ms, at token ${reader.next} of ${current.tokens}`);
      if (reader.socket && !reader.socket.destroyed) reader.socket.resetAndDestroy();
    }
    current.readers.clear();
    const [first, second] = current.latencies.map((all, i) => all.subarray(0, current.counts[i]));
    const both = new Float64Array(first.length + second.length);
    both.set(first);
    both.set(second, first.length);
    const cpu = process.cpuUsage(current.cpu);
    const spanMs = current.lastArrival - current.firstProduced;
    return {
      readers: current.total,
      expected: current.expected,
      delivered: current.delivered,
      failureCount: current.failureCount,
      failures: current.failures,
      openAtTimeout: open,
      latencyMs: percentiles(both),
      // The first reader of each pair (the POST; plain: the GET on a), and the second (the joining GET).
      firstReaderLatencyMs: percentiles(first),
      secondReaderLatencyMs: percentiles(second),
      openMs: current.opens.map((opens) => percentiles(Float64Array.from(opens))),
      spanMs,
      tokensPerSec: current.delivered / (spanMs / 1000),
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
  },
  drop() {
    const dropped = pass ? pass.readers.size : 0;
    for (const reader of pass?.readers ?? []) reader.socket?.resetAndDestroy();
    return { dropped };
  },
};

serve(commands);
process.send({ ready: true });
