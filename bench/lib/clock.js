// One clock for every process of the benchmark. performance.timeOrigin is the wall-clock
// time at which this process started, measured precisely, so timeOrigin + now() taken in
// the server and in the client process are comparable (same machine, same system clock).
const { performance } = require('node:perf_hooks');

const origin = performance.timeOrigin;

/** Milliseconds since the epoch, with sub-millisecond precision. */
function now() {
  return origin + performance.now();
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

module.exports = { now, sleep };
