// A V8 heap snapshot of this process, summed by owner (see heap-owners.js). Taken in the
// server process itself (v8.getHeapSnapshot), so the orchestrator never holds the JSON:
// a snapshot of a server with 2,000 streams is tens of MB, parsed in a second or two.
//
// The snapshot format (snapshot.meta): `nodes` is a flat array of `node_fields.length`
// numbers per node (type, name, id, self_size, edge_count, ...); `edges` a flat array of
// `edge_fields.length` numbers per edge (type, name_or_index, to_node), the edges of each
// node following those of the node before; `to_node` is an index into `nodes`. Types are
// indexes into `node_types[0]` / `edge_types[0]`, names indexes into `strings`.
const v8 = require('node:v8');
const { ownerOf, OWNERS } = require('./heap-owners');

/** Resolves with the parsed snapshot of this process's heap. */
function takeSnapshot() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const stream = v8.getHeapSnapshot();
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.once('error', reject);
    stream.once('end', () => {
      try {
        resolve(JSON.parse(chunks.join('')));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** Edges that do not keep their target alive (weak) or repeat a path that another edge holds (shortcut). */
const NOT_RETAINING = new Set(['weak', 'shortcut']);

/** Passes of attribution by retainers: each decides one more link of a chain (object → array → its elements). */
const MAX_PASSES = 20;

/** Node types whose name says what the node is (a constructor, a function, a kind of system object). */
const NAMED_TYPES = new Set(['object', 'closure', 'hidden', 'native', 'array', 'synthetic', 'object shape']);

/**
 * Bytes (sum of self_size) by owner, and by `owner\tname` for the largest names, of the
 * snapshot `s`. `libraryClasses` is the set of class names defined in the library's dist/.
 */
function sumByOwner(s, libraryClasses) {
  const meta = s.snapshot.meta;
  const nodeFieldCount = meta.node_fields.length;
  const edgeFieldCount = meta.edge_fields.length;
  const TYPE = meta.node_fields.indexOf('type');
  const NAME = meta.node_fields.indexOf('name');
  const SELF_SIZE = meta.node_fields.indexOf('self_size');
  const EDGE_COUNT = meta.node_fields.indexOf('edge_count');
  const EDGE_TYPE = meta.edge_fields.indexOf('type');
  const TO_NODE = meta.edge_fields.indexOf('to_node');
  const nodeTypes = meta.node_types[TYPE];
  const edgeTypes = meta.edge_types[EDGE_TYPE];
  const { nodes, edges, strings } = s;
  const count = nodes.length / nodeFieldCount;

  // First pass: the owner of every node, from its type and name alone (-1: not decided yet).
  const ownerIndex = new Int8Array(count).fill(-1);
  const ownerNames = Object.keys(OWNERS);
  const indexOfOwner = new Map(ownerNames.map((name, i) => [name, i]));
  for (let i = 0; i < count; i++) {
    const type = nodeTypes[nodes[i * nodeFieldCount + TYPE]];
    const name = strings[nodes[i * nodeFieldCount + NAME]];
    const owner = ownerOf(type, name, libraryClasses);
    if (owner) ownerIndex[i] = indexOfOwner.get(owner);
  }

  // Then a node without an owner of its own (a plain Object, an Array, a Map and its
  // table, an object's property and element storage) goes to the owner of its retainers,
  // once they all have one and it is the same: a headers object kept by a response alone
  // is node:http's, a Map kept by a library class alone is the library's. One retained by
  // two owners, or by something that has none (a root, a cycle of plain objects), is other.
  const retaining = edgeTypes.map((type) => !NOT_RETAINING.has(type));
  const agreed = new Int8Array(count);
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    // -1: no retainer seen yet; -2: retainers disagree or one has no owner; else the owner.
    agreed.fill(-1);
    let edge = 0;
    for (let i = 0; i < count; i++) {
      const edgeCount = nodes[i * nodeFieldCount + EDGE_COUNT];
      const from = ownerIndex[i];
      for (let e = 0; e < edgeCount; e++, edge += edgeFieldCount) {
        if (!retaining[edges[edge + EDGE_TYPE]]) continue;
        const to = edges[edge + TO_NODE] / nodeFieldCount;
        if (ownerIndex[to] >= 0 || to === i) continue;
        if (from < 0) agreed[to] = -2;
        else if (agreed[to] === -1) agreed[to] = from;
        else if (agreed[to] !== from) agreed[to] = -2;
      }
    }
    let decided = 0;
    for (let i = 0; i < count; i++)
      if (ownerIndex[i] < 0 && agreed[i] >= 0) {
        ownerIndex[i] = agreed[i];
        decided++;
      }
    if (decided === 0) break;
  }

  const owners = Object.fromEntries(ownerNames.map((name) => [name, 0]));
  const byName = new Map();
  let total = 0;
  for (let i = 0; i < count; i++) {
    const size = nodes[i * nodeFieldCount + SELF_SIZE];
    if (size === 0) continue;
    const owner = ownerIndex[i] < 0 ? 'other' : ownerNames[ownerIndex[i]];
    owners[owner] += size;
    total += size;
    const type = nodeTypes[nodes[i * nodeFieldCount + TYPE]];
    // A string's name is its content, code's its function: one entry per type for those, not per value.
    const name = NAMED_TYPES.has(type) ? strings[nodes[i * nodeFieldCount + NAME]] : `(${type})`;
    const key = `${owner}\t${type}\t${name}`;
    const entry = byName.get(key);
    if (entry) {
      entry.size += size;
      entry.count++;
    } else byName.set(key, { size, count: 1 });
  }
  return { total, nodes: count, owners, byName };
}

/**
 * A snapshot of this process's heap after a full GC, summed by owner: `{ total, nodes,
 * owners: { owner: bytes }, names: [{ owner, type, name, size, count }] }`, every name
 * (a few thousand: the orchestrator diffs two snapshots to say which names grew).
 */
async function heapOwners(libraryClasses) {
  // Twice: the first pass may only finalize what the second can then free.
  global.gc?.();
  global.gc?.();
  const started = Date.now();
  const { total, nodes, owners, byName } = sumByOwner(await takeSnapshot(), libraryClasses);
  const names = [...byName].map(([key, { size, count }]) => {
    const [owner, type, name] = key.split('\t');
    return { owner, type, name, size, count };
  });
  // The parsed snapshot is garbage now: collect it, so that it does not count as this server's RSS later.
  global.gc?.();
  return { total, nodes, owners, names, tookMs: Date.now() - started };
}

module.exports = { heapOwners, sumByOwner };
