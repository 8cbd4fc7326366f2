// Who owns what in a heap snapshot: each node goes to one owner by its type and its name
// (for an object, the name of its constructor). One table, so that "the library's heap per
// stream grew" is a change to look for in the library, and "strings grew" one to look for
// in what is kept per stream as text. Node's own objects that an Express request reuses
// (Express 5 only swaps the prototype of IncomingMessage / ServerResponse) stay under
// node:http: by constructor name they cannot be told apart.
const fs = require('node:fs');
const path = require('node:path');

/** Owner → constructor names of objects (and names of native nodes) that it counts. */
const OWNERS = {
  // Node's HTTP server and its sockets: the request and response, the parser, the socket and
  // its libuv handle (TCP, and its native node "Node / TCPWrap"), the stream states and
  // their buffers, and the write requests in flight.
  'node:http': new Set([
    'IncomingMessage',
    'ServerResponse',
    'OutgoingMessage',
    'HTTPParser',
    'HTTPServerAsyncResource',
    'Socket',
    'TCP',
    'TLSSocket',
    'TLSWrap',
    'WriteWrap',
    'ShutdownWrap',
    'ReadableState',
    'WritableState',
    'BufferList',
    'FreeList',
    'Timeout',
    'TimersList',
    'AsyncResource',
    'Node / TCPWrap',
    'Node / TCPSocketWrap',
    'Node / HTTPParser',
    'Node / WriteWrap',
    'Node / ShutdownWrap',
    'Node / TimerWrap',
    'Node / Environment',
  ]),
  // The web framework under Nest: Fastify's request and reply (one per request, from
  // per-route subclasses _Request / _Reply) and its route context; Express keeps nothing per
  // request of its own (see above).
  framework: new Set(['Request', 'Reply', '_Request', '_Reply', 'Context', 'Layer', 'Route', 'Router']),
  // Nest and RxJS: what a route call and an interceptor chain leave behind per stream.
  nest: new Set([
    'ExecutionContextHost',
    'ArgumentsHost',
    'RouterResponseController',
    'RouterProxy',
    'Observable',
    'Subscriber',
    'SafeSubscriber',
    'ConsumerObserver',
    'OperatorSubscriber',
    'Subscription',
    'Subject',
    'AnonymousSubject',
  ]),
  // The library under test: every class its dist/ defines (found when the server starts,
  // so a class added tomorrow is counted), and any name starting with "Sse".
  library: new Set(),
  // String contents: headers, ids, channel names, presence info, event text.
  strings: new Set(),
  // Functions made per stream (type "closure") and the contexts they keep ("system / Context").
  closures: new Set(),
  // Everything else: what is shared by several owners or kept by none of them (promises,
  // compiled code, hidden classes). A node that is not named here (a plain Object, an Array,
  // a Map, storage of an object) goes to the owner of its retainers when they agree (see
  // heap-snapshot.js); to other when they do not.
  other: new Set(),
};

const STRING_TYPES = new Set(['string', 'concatenated string', 'sliced string']);

/** The owner of a node of snapshot type `type` named `name`; undefined when it is not decided by its name. */
function ownerOf(type, name, libraryClasses) {
  if (STRING_TYPES.has(type)) return 'strings';
  if (type === 'closure' || name === 'system / Context') return 'closures';
  if (type !== 'object' && type !== 'native' && type !== 'synthetic') return undefined;
  if (libraryClasses.has(name) || name.startsWith('Sse')) return 'library';
  for (const owner of ['node:http', 'framework', 'nest']) if (OWNERS[owner].has(name)) return owner;
  return undefined;
}

/** The names of the classes declared in the .js files under `dir` (the library's dist/). */
function classNamesIn(dir) {
  const names = new Set();
  const walk = (at) => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const file = path.join(at, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.js'))
        for (const [, name] of fs.readFileSync(file, 'utf8').matchAll(/\bclass\s+([A-Za-z_$][\w$]*)/g))
          names.add(name);
    }
  };
  walk(dir);
  return names;
}

module.exports = { OWNERS, ownerOf, classNamesIn };
