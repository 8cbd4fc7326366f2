// The event every server broadcasts. The client finds events by the `"seq":` marker and
// reads seq and t straight from the bytes, so the key order matters: seq, then t.
const { now } = require('./clock');

/** The bytes the client looks for in each event (JSON.stringify keeps key order). */
const MARKER = '"seq":';

/** Padding that brings the JSON of an event to about `bytes` bytes. */
function padFor(bytes = 100) {
  const sample = JSON.stringify({ seq: 100000, t: now(), pad: '' });
  return 'x'.repeat(Math.max(0, bytes - sample.length));
}

/** A new event: `t` is taken here, just before the broadcast that sends it. */
function makeEvent(seq, pad) {
  return { seq, t: now(), pad };
}

module.exports = { MARKER, padFor, makeEvent };
