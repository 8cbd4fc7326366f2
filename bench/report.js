// Turns the samples into medians, ratios to `raw`, a text table (console), a Markdown
// table (latest.md), the raw data (latest.json) and a small hand-written SVG (chart.svg);
// and, for servers that differ from another by one thing (metrics on, or the baseline's
// build), a table of the one against the other, measured in the same rounds. Memory is
// RSS and heap used per stream at each point, how RSS per stream changes with the count,
// the heap per stream by owner (from snapshots), and what a channel and presence cost.
const fs = require('node:fs');
const path = require('node:path');
const { median } = require('./lib/stats');

const COLORS = {
  raw: '#6b7280',
  'net-floor': '#111827',
  'hub-channel': '#3b82f6',
  'hub-presence': '#93c5fd',
  'raw-close': '#9ca3af',
  'nest-raw': '#7c3aed',
  hub: '#2563eb',
  'hub-metrics': '#60a5fa',
  'hub@base': '#1e3a8a',
  'hub-fastify': '#0891b2',
  'hub-fastify-metrics': '#67e8f9',
  'hub-fastify@base': '#164e63',
  'nest-sse': '#dc2626',
  'better-sse': '#16a34a',
  'sse-channel': '#d97706',
};

/** [server, the one it is compared with, what differs], for those in the run. */
const COMPARISONS = [
  ['hub-metrics', 'hub', 'metrics on ÷ off'],
  ['hub-fastify-metrics', 'hub-fastify', 'metrics on ÷ off'],
  ['hub', 'hub@base', 'this build ÷ baseline'],
  ['hub-fastify', 'hub-fastify@base', 'this build ÷ baseline'],
];

/** [server, the one it is compared with, what one stream of the server holds more]: memory only. */
const MEMORY_COSTS = [
  ['hub-channel', 'hub', 'one joined channel'],
  ['hub-presence', 'hub-channel', 'one presence entry'],
];

/** The floor under every server: a bare `net` server (servers/net-floor.js). */
const FLOOR = 'net-floor';

/** The point the headline memory figures are taken at: 10,000 streams when measured, else the largest. */
function headlinePoint(points) {
  return points.includes(10_000) ? 10_000 : points.at(-1);
}

/** RSS per stream at the largest point ÷ at the smallest: above 1, each stream costs more as streams add up. */
function growth(memory, points) {
  return points.length > 1 ? ratio(memory[points.at(-1)], memory[points[0]]) : null;
}

/**
 * RSS each stream added between consecutive points costs (bytes), by interval "a-b": unlike
 * RSS per stream, which spreads the first heap pages and buffers over however many streams,
 * this rises when streams really cost more as they add up. Per round (a series is one process).
 */
function addedPerStream(series, points) {
  const added = {};
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1], points[i]];
    const perRound = (series[b] ?? [])
      .filter((s) => s.complete)
      .map((s) => {
        const before = (series[a] ?? []).find((x) => x.round === s.round && x.complete);
        return before ? (s.rssOpen - before.rssOpen) / (b - a) : null;
      });
    added[`${a}-${b}`] = median(perRound);
  }
  return added;
}

function ratio(value, base) {
  return typeof value === 'number' && typeof base === 'number' && base !== 0 ? value / base : null;
}

/** Medians across rounds per server, and each median divided by raw's. */
function summarize(samples, servers, memoryPoints) {
  const medians = {};
  for (const name of servers) {
    const completeBursts = samples.burst[name].filter((s) => s.complete);
    const completeSingles = samples.single[name].filter((s) => s.complete);
    const memory = {};
    for (const n of memoryPoints)
      memory[n] = median(samples.memory[name][n].filter((s) => s.complete).map((s) => s.bytesPerStream));
    // Where RSS goes, at the headline point: the objects kept (heap used), and what V8 holds for them (heap total).
    const headline = (samples.memory[name][headlinePoint(memoryPoints)] ?? []).filter(
      (s) => s.complete && s.heapTotalOpen !== undefined,
    );
    const heap = samples.heap?.[name];
    medians[name] = {
      burstDeliveriesPerSec: median(completeBursts.map((s) => s.deliveriesPerSec)),
      burstServerLoopMs: median(completeBursts.map((s) => s.serverLoopMs)),
      burstServerCpuMs: median(completeBursts.map((s) => s.serverCpuMs)),
      burstClientCpuMs: median(completeBursts.map((s) => s.clientCpuMs)),
      singleLastP50Ms: median(completeSingles.map((s) => s.lastP50Ms)),
      singleLastP99Ms: median(completeSingles.map((s) => s.lastP99Ms)),
      singleFirstP50Ms: median(completeSingles.map((s) => s.firstP50Ms)),
      singleFirstP99Ms: median(completeSingles.map((s) => s.firstP99Ms)),
      singleDeliveriesPerSec: median(completeSingles.map((s) => s.deliveriesPerSec)),
      memoryBytesPerStream: memory,
      memoryGrowth: growth(memory, memoryPoints),
      memoryAddedPerStream: addedPerStream(samples.memory[name], memoryPoints),
      heapUsedBytesPerStream: median(headline.map((s) => (s.heapOpen - s.heapEmpty) / s.clients)),
      heapTotalBytesPerStream: median(headline.map((s) => (s.heapTotalOpen - s.heapTotalEmpty) / s.clients)),
      // One snapshot pair per server (no rounds): the heap per stream by owner, and what grew most.
      heapOwners: heap?.complete
        ? {
            streams: heap.streams,
            totalPerStream: heap.totalPerStream,
            ownersPerStream: heap.ownersPerStream,
            top: heap.top,
          }
        : null,
    };
  }
  const ratios = {};
  const base = medians.raw;
  if (base) {
    for (const name of servers) {
      const m = medians[name];
      const memory = {};
      for (const n of memoryPoints)
        memory[n] = ratio(m.memoryBytesPerStream[n], base.memoryBytesPerStream[n]);
      ratios[name] = {
        // Higher is better for rates, lower for latency and memory: each is server ÷ raw.
        burstDeliveriesPerSec: ratio(m.burstDeliveriesPerSec, base.burstDeliveriesPerSec),
        singleLastP50Ms: ratio(m.singleLastP50Ms, base.singleLastP50Ms),
        singleLastP99Ms: ratio(m.singleLastP99Ms, base.singleLastP99Ms),
        singleDeliveriesPerSec: ratio(m.singleDeliveriesPerSec, base.singleDeliveriesPerSec),
        memoryBytesPerStream: memory,
        heapUsedBytesPerStream: ratio(m.heapUsedBytesPerStream, base.heapUsedBytesPerStream),
        snapshotHeapPerStream: ratio(m.heapOwners?.totalPerStream, base.heapOwners?.totalPerStream),
      };
    }
  }
  return {
    medians,
    ratios,
    floorRatios: floorRatios(medians, servers, memoryPoints),
    comparisons: compare(samples, servers, medians, memoryPoints),
    memoryCosts: memoryCosts(servers, medians, memoryPoints),
  };
}

/** Memory of each server ÷ the net floor's: what it holds per stream beyond a bare socket. */
function floorRatios(medians, servers, memoryPoints) {
  const floor = medians[FLOOR];
  if (!floor) return {};
  return Object.fromEntries(
    servers.map((name) => {
      const m = medians[name];
      const memory = {};
      for (const n of memoryPoints)
        memory[n] = ratio(m.memoryBytesPerStream[n], floor.memoryBytesPerStream[n]);
      return [
        name,
        {
          memoryBytesPerStream: memory,
          heapUsedBytesPerStream: ratio(m.heapUsedBytesPerStream, floor.heapUsedBytesPerStream),
          snapshotHeapPerStream: ratio(m.heapOwners?.totalPerStream, floor.heapOwners?.totalPerStream),
        },
      ];
    }),
  );
}

function difference(a, b) {
  return typeof a === 'number' && typeof b === 'number' ? a - b : null;
}

/** What one stream of a server holds more than one of the server it differs from (in bytes). */
function memoryCosts(servers, medians, memoryPoints) {
  return MEMORY_COSTS.filter(([name, against]) => servers.includes(name) && servers.includes(against)).map(
    ([name, against, what]) => {
      const [m, base] = [medians[name], medians[against]];
      const rss = {};
      for (const n of memoryPoints)
        rss[n] = difference(m.memoryBytesPerStream[n], base.memoryBytesPerStream[n]);
      const owners = {};
      if (m.heapOwners && base.heapOwners)
        for (const owner of Object.keys(m.heapOwners.ownersPerStream))
          owners[owner] = difference(
            m.heapOwners.ownersPerStream[owner],
            base.heapOwners.ownersPerStream[owner],
          );
      return {
        name,
        against,
        what,
        rssBytesPerStream: rss,
        heapUsedBytesPerStream: difference(m.heapUsedBytesPerStream, base.heapUsedBytesPerStream),
        snapshotHeapPerStream: difference(m.heapOwners?.totalPerStream, base.heapOwners?.totalPerStream),
        ownersPerStream: owners,
      };
    },
  );
}

/**
 * Each comparison's medians and their ratio, and the spread: the ratio of the two servers'
 * bursts round by round (run back to back in each round), lowest and highest.
 */
function compare(samples, servers, medians, memoryPoints) {
  const largest = headlinePoint(memoryPoints);
  return COMPARISONS.filter(([name, against]) => servers.includes(name) && servers.includes(against)).map(
    ([name, against, what]) => {
      const [m, base] = [medians[name], medians[against]];
      const perRound = samples.burst[name]
        .filter((s) => s.complete)
        .map((s) =>
          ratio(
            s.deliveriesPerSec,
            samples.burst[against].find((b) => b.round === s.round && b.complete)?.deliveriesPerSec,
          ),
        )
        .filter((r) => r !== null);
      return {
        name,
        against,
        what,
        burstDeliveriesPerSec: [m.burstDeliveriesPerSec, base.burstDeliveriesPerSec],
        burstRatio: ratio(m.burstDeliveriesPerSec, base.burstDeliveriesPerSec),
        burstRatioPerRound: perRound,
        burstRange: [samples.burst[name], samples.burst[against]].map((list) => {
          const rates = list.filter((s) => s.complete).map((s) => s.deliveriesPerSec);
          return rates.length ? [Math.min(...rates), Math.max(...rates)] : null;
        }),
        singleLastP50Ms: [m.singleLastP50Ms, base.singleLastP50Ms],
        singleLastP99Ms: [m.singleLastP99Ms, base.singleLastP99Ms],
        memoryBytesPerStream: [m.memoryBytesPerStream[largest], base.memoryBytesPerStream[largest]],
        heapUsedBytesPerStream: [m.heapUsedBytesPerStream, base.heapUsedBytesPerStream],
      };
    },
  );
}

function num(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return 'n/a';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function times(r) {
  return r === null || r === undefined ? 'n/a' : `${num(r, 2)}×`;
}

function kib(bytes, digits = 2) {
  return num(bytes === null || bytes === undefined ? null : bytes / 1024, digits);
}

/** A difference in KiB, with its sign. */
function signedKib(bytes) {
  if (bytes === null || bytes === undefined) return 'n/a';
  return `${bytes < 0 ? '−' : '+'}${kib(Math.abs(bytes))}`;
}

/** The servers of the burst and single modes (results written before memory-only servers: all). */
function speedServersOf(results) {
  return results.config.speedServers ?? Object.keys(results.medians);
}

/** The tables as rows of cells: one for burst and single, one for memory. */
function tables(results) {
  const { medians, ratios, config } = results;
  const servers = Object.keys(medians);
  const points = config.memoryPoints;
  const headline = num(headlinePoint(points));
  const floor = results.floorRatios ?? {};
  const speed = [
    [
      'server',
      `burst deliveries/s`,
      '÷ raw',
      'single: last client p50 (ms)',
      'p99 (ms)',
      'p50 ÷ raw',
      'p99 ÷ raw',
      'first client p50 (ms)',
      'single deliveries/s',
      '÷ raw',
    ],
  ];
  for (const name of speedServersOf(results)) {
    const m = medians[name];
    const r = ratios[name] ?? {};
    speed.push([
      name,
      num(m.burstDeliveriesPerSec),
      times(r.burstDeliveriesPerSec),
      num(m.singleLastP50Ms, 2),
      num(m.singleLastP99Ms, 2),
      times(r.singleLastP50Ms),
      times(r.singleLastP99Ms),
      num(m.singleFirstP50Ms, 2),
      num(m.singleDeliveriesPerSec),
      times(r.singleDeliveriesPerSec),
    ]);
  }
  const largest = headline;
  const memory = [
    [
      'server',
      ...points.map((n) => `RSS/stream @${num(n)} (KiB)`),
      ...points.map((n) => `÷ raw @${num(n)}`),
      `÷ ${FLOOR} @${headline}`,
      `heap used/stream @${headline} (KiB)`,
      '÷ raw',
      `÷ ${FLOOR}`,
      `heap total/stream @${headline} (KiB)`,
    ],
  ];
  for (const name of servers) {
    const m = medians[name];
    const r = ratios[name] ?? {};
    const f = floor[name] ?? {};
    memory.push([
      name,
      ...points.map((n) => kib(m.memoryBytesPerStream[n])),
      ...points.map((n) => times(r.memoryBytesPerStream?.[n])),
      times(f.memoryBytesPerStream?.[headlinePoint(points)]),
      kib(m.heapUsedBytesPerStream),
      times(r.heapUsedBytesPerStream),
      times(f.heapUsedBytesPerStream),
      kib(m.heapTotalBytesPerStream),
    ]);
  }
  const owners = ownersTable(results);
  const costs = costsTable(results);
  const scaling = scalingTable(results);
  const pairs = [
    [
      'server ÷ compared with',
      'what differs',
      'burst deliveries/s',
      'ratio',
      'per round: min–max',
      'single: last p50 (ms)',
      'ratio',
      'p99 (ms)',
      'ratio',
      `RSS/stream @${largest} (KiB)`,
      `heap used/stream @${largest} (KiB)`,
    ],
  ];
  const both = ([a, b], digits = 0, scale = 1) =>
    `${num(a === null ? null : a / scale, digits)} / ${num(b === null ? null : b / scale, digits)}`;
  for (const c of results.comparisons ?? []) {
    const rounds = c.burstRatioPerRound;
    pairs.push([
      `${c.name} ÷ ${c.against}`,
      c.what,
      both(c.burstDeliveriesPerSec),
      times(c.burstRatio),
      rounds.length ? `${num(Math.min(...rounds), 2)}–${num(Math.max(...rounds), 2)}×` : 'n/a',
      both(c.singleLastP50Ms, 2),
      times(ratio(...c.singleLastP50Ms)),
      both(c.singleLastP99Ms, 2),
      times(ratio(...c.singleLastP99Ms)),
      both(c.memoryBytesPerStream, 2, 1024),
      both(c.heapUsedBytesPerStream, 2, 1024),
    ]);
  }
  return { speed, memory, scaling, owners, costs, pairs: pairs.length > 1 ? pairs : undefined };
}

/** How RSS per stream changes with the count: the average at each end, and what each added stream cost between points. */
function scalingTable(results) {
  const { medians, config } = results;
  const points = config.memoryPoints;
  if (points.length < 2) return undefined;
  const [first, last] = [points[0], points.at(-1)];
  const intervals = points.slice(1).map((b, i) => `${points[i]}-${b}`);
  const label = (interval) =>
    interval
      .split('-')
      .map((n) => num(Number(n)))
      .join('→');
  const rows = [
    [
      'server',
      `RSS/stream @${num(first)} (KiB)`,
      `@${num(last)} (KiB)`,
      `@${num(last)} ÷ @${num(first)}`,
      ...intervals.map((interval) => `added RSS/stream ${label(interval)} (KiB)`),
      // With one interval, it would be that interval against itself.
      ...(intervals.length > 1 ? ['last ÷ first interval'] : []),
    ],
  ];
  for (const name of Object.keys(medians)) {
    const m = medians[name];
    const added = m.memoryAddedPerStream ?? {};
    rows.push([
      name,
      kib(m.memoryBytesPerStream[first]),
      kib(m.memoryBytesPerStream[last]),
      times(m.memoryGrowth),
      ...intervals.map((interval) => kib(added[interval])),
      ...(intervals.length > 1 ? [times(ratio(added[intervals.at(-1)], added[intervals[0]]))] : []),
    ]);
  }
  return rows;
}

/** Heap per stream by owner, from the snapshots: one row per server that has them. */
function ownersTable(results) {
  const { medians, ratios } = results;
  const measured = Object.keys(medians).filter((name) => medians[name].heapOwners);
  if (!measured.length) return undefined;
  const ownerNames = Object.keys(medians[measured[0]].heapOwners.ownersPerStream);
  const rows = [
    [
      'server',
      'streams',
      'heap/stream (KiB)',
      '÷ raw',
      `÷ ${FLOOR}`,
      ...ownerNames.map((owner) => `${owner} (KiB)`),
    ],
  ];
  for (const name of measured) {
    const h = medians[name].heapOwners;
    rows.push([
      name,
      num(h.streams),
      kib(h.totalPerStream),
      times(ratios[name]?.snapshotHeapPerStream),
      times(results.floorRatios?.[name]?.snapshotHeapPerStream),
      ...ownerNames.map((owner) => kib(h.ownersPerStream[owner])),
    ]);
  }
  return rows;
}

/** What one channel, one presence entry, ... cost per stream: the difference of two servers. */
function costsTable(results) {
  const costs = results.memoryCosts ?? [];
  if (!costs.length) return undefined;
  const points = results.config.memoryPoints;
  const rows = [
    [
      'cost of',
      'server − compared with',
      ...points.map((n) => `RSS/stream @${num(n)} (KiB)`),
      `heap used/stream @${num(headlinePoint(points))} (KiB)`,
      'heap/stream in the snapshot (KiB)',
      'by owner, in the snapshot (KiB)',
    ],
  ];
  for (const c of costs)
    rows.push([
      c.what,
      `${c.name} − ${c.against}`,
      ...points.map((n) => signedKib(c.rssBytesPerStream[n])),
      signedKib(c.heapUsedBytesPerStream),
      signedKib(c.snapshotHeapPerStream),
      ownerChanges(c.ownersPerStream),
    ]);
  return rows;
}

/** The owners whose heap per stream changed by 0.01 KiB or more, largest change first. */
function ownerChanges(owners) {
  const changed = Object.entries(owners)
    .filter(([, bytes]) => bytes !== null && Math.abs(bytes) >= 0.01 * 1024)
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  return changed.length ? changed.map(([owner, bytes]) => `${owner} ${signedKib(bytes)}`).join(', ') : 'none';
}

/** Sentences: how RSS per stream changes with the count, and what a channel and presence cost. */
function memoryNotes(results) {
  const { medians, config } = results;
  const points = config.memoryPoints;
  const at = num(headlinePoint(points));
  const notes = [];
  if (points.length > 1) {
    const [first, last] = [num(points[0]), num(points.at(-1))];
    const average = Object.keys(medians)
      .map((name) => [name, medians[name].memoryGrowth])
      .filter(([, g]) => g !== null);
    notes.push(
      `Average RSS per stream from ${first} to ${last} streams ${verdict(average, 'grows', 'falls (fixed costs spread over more streams)')}; @${last} ÷ @${first}: ${average.map(([name, g]) => `${name} ${times(g)}`).join(', ')}.`,
    );
    // With three points or more, the last interval against the first: what a stream added late costs against one added early.
    const [early, late] = [`${points[0]}-${points[1]}`, `${points.at(-2)}-${points.at(-1)}`];
    const added = Object.keys(medians)
      .map((name) => [
        name,
        medians[name].memoryAddedPerStream?.[early],
        medians[name].memoryAddedPerStream?.[late],
      ])
      .filter(([, a, b]) => typeof a === 'number' && typeof b === 'number');
    if (added.length && points.length > 2)
      notes.push(
        `RSS each added stream costs, from ${num(points.at(-2))} to ${last} against from ${first} to ${num(points[1])}, ${verdict(
          added.map(([name, a, b]) => [name, ratio(b, a)]),
          'grows',
          'falls',
        )}: ${added.map(([name, a, b]) => `${name} ${kib(b)} against ${kib(a)} KiB (${times(ratio(b, a))})`).join(', ')}.`,
      );
  }
  for (const c of results.memoryCosts ?? [])
    notes.push(
      `${c.what[0].toUpperCase()}${c.what.slice(1)} costs ${signedKib(c.rssBytesPerStream[headlinePoint(points)])} KiB of RSS and ${signedKib(c.heapUsedBytesPerStream)} KiB of heap used per stream @${at} (${c.name} − ${c.against}); in the snapshot ${signedKib(c.snapshotHeapPerStream)} KiB (${ownerChanges(c.ownersPerStream)}).`,
    );
  return notes;
}

/** Which of [server, ratio] grow or fall by more than 10%, in words. */
function verdict(ratios, grows, falls) {
  const up = ratios.filter(([, r]) => r !== null && r > 1.1).map(([name]) => name);
  const down = ratios.filter(([, r]) => r !== null && r < 0.9).map(([name]) => name);
  if (!up.length && !down.length) return 'stays within 10% for every server';
  return [
    up.length ? `${grows} by more than 10% for ${up.join(', ')}` : `${grows} for no server`,
    ...(down.length ? [`${falls} by more than 10% for ${down.join(', ')}`] : []),
  ].join('; it ');
}

/** Per server, the names whose heap per stream grew most between the snapshots. */
function topGrowerLines(results, top) {
  return Object.entries(results.medians)
    .filter(([, m]) => m.heapOwners?.top?.length)
    .map(
      ([name, m]) =>
        `${name}: ${m.heapOwners.top
          .slice(0, top)
          .map(
            (x) =>
              `${x.owner} ${x.type} "${x.name}" ${kib(x.bytesPerStream)} KiB (×${num(x.countPerStream, 2)})`,
          )
          .join('; ')}`,
    );
}

function textTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows
    .map((row) =>
      row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '),
    )
    .join('\n');
}

function markdownTable(rows) {
  const [head, ...body] = rows;
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...body.map(line)].join('\n');
}

function header(results) {
  const { machine, config, durationMs } = results;
  const speed = speedServersOf(results).length
    ? `${config.clients} clients; medians of ${config.rounds} round(s) (burst: ${config.burstSize} broadcasts back to back; ` +
      `single: ${config.singles} broadcasts, latency from send to the last client)`
    : `No burst or single rounds (BENCH_MODES=${config.modes?.join(',')})`;
  return (
    `${speed} and ${config.memoryRounds} memory round(s). ` +
    `${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}, ${machine.platform}, ${machine.date}; wall time ${num(durationMs / 1000, 1)} s.`
  );
}

function printSummary(results, log) {
  const { speed, memory, scaling, owners, costs, pairs } = tables(results);
  log(`\n${header(results)}\n`);
  if (speed.length > 1) {
    log(textTable(speed));
    log('');
  }
  log(textTable(memory));
  if (scaling) {
    log('');
    log(textTable(scaling));
  }
  if (owners) {
    log(`\nHeap per stream by owner, from snapshots at 0 and ${num(owners[1]?.[1] ?? 0)} streams (KiB):\n`);
    log(textTable(owners));
    log(`\nGrew most per stream:\n  ${topGrowerLines(results, 3).join('\n  ')}`);
  }
  if (costs) {
    log('');
    log(textTable(costs));
  }
  const notes = memoryNotes(results);
  if (notes.length) log(`\n${notes.join('\n')}`);
  if (pairs) {
    log(`\n${pairsNote(results)}\n`);
    log(textTable(pairs));
  }
}

/** What the comparison table shows, and what the baseline was. */
function pairsNote(results) {
  const base = results.baseline?.commit
    ? ` The baseline is the build at ${results.baseline.commit.slice(0, 12)} (${results.baseline.dir}).`
    : '';
  return `Each server against the one it differs from by one thing, in the same rounds: medians (this / that), the ratio of the medians, and the lowest and highest of the per-round burst ratios.${base}`;
}

function markdown(results) {
  const { speed, memory, scaling, owners, costs, pairs } = tables(results);
  const source = results.source?.commit
    ? `Library at ${results.source.commit.slice(0, 12)}${results.source.uncommittedSrcChanges?.length ? ` plus uncommitted changes to ${results.source.uncommittedSrcChanges.map((l) => l.slice(3)).join(', ')}` : ''}.`
    : '';
  return [
    '# SSE fan-out benchmark',
    '',
    `${header(results)} ${source}`,
    '',
    '## Throughput and latency',
    '',
    markdownTable(speed),
    '',
    "Ratios are the server's median divided by `raw`'s: above 1 is better for deliveries/s, below 1 is better for latency and memory.",
    '',
    ...(pairs
      ? [
          '## Metrics on against off, and against the baseline',
          '',
          pairsNote(results),
          '',
          markdownTable(pairs),
          '',
        ]
      : []),
    '## Memory',
    '',
    markdownTable(memory),
    '',
    ...(scaling ? [markdownTable(scaling), ''] : []),
    ...memoryNotes(results).flatMap((note) => [note, '']),
    ...(costs
      ? [
          markdownTable(costs),
          '',
          'RSS grows by pages and allocator arenas, so a difference of a few KiB of RSS per stream between two servers, above all at 1,000 streams, can be noise; heap used and the snapshot are the finer figures.',
          '',
        ]
      : []),
    ...(owners
      ? [
          '## Heap per stream by owner',
          '',
          `From a heap snapshot of a fresh server at 0 streams and one at ${num(owners[1]?.[1] ?? 0)}, after a full GC; the owners are those of bench/lib/heap-owners.js.`,
          '',
          markdownTable(owners),
          '',
          'What grew most per stream (owner, snapshot type, name; bytes and count per stream):',
          '',
          ...topGrowerLines(results, 8).map((line) => `- ${line}`),
          '',
        ]
      : []),
    '![chart](chart.svg)',
    '',
    ...(results.failures.length ? ['## Failures', '', ...results.failures.map((f) => `- ${f}`), ''] : []),
  ].join('\n');
}

// ---------------------------------------------------------------- the chart

function escapeXml(text) {
  return String(text).replace(
    /[<>&"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c],
  );
}

/** A round axis maximum: 1, 2 or 5 times a power of ten, at least `value`. */
function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function shortNumber(n) {
  if (n >= 1e6) return `${num(n / 1e6, n % 1e6 ? 1 : 0)}M`;
  if (n >= 1e3) return `${num(n / 1e3, n % 1e3 ? 1 : 0)}k`;
  return num(n, n % 1 ? 1 : 0);
}

function svgChart(results) {
  const { medians, config } = results;
  const servers = Object.keys(medians);
  const W = 920;
  const H = 380;
  const panel = { top: 50, bottom: 300, width: 360 };
  const left1 = 80;
  const left2 = 540;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">SSE fan-out: ${escapeXml(servers.join(', '))}</text>`,
  );

  // Panel 1: burst deliveries/s per server, as bars (memory-only servers have none).
  const bars = speedServersOf(results);
  const rates = bars.map((name) => medians[name].burstDeliveriesPerSec ?? 0);
  const maxRate = niceMax(Math.max(...rates));
  const plotH = panel.bottom - panel.top;
  out.push(
    `<text x="${left1 + panel.width / 2}" y="40" text-anchor="middle" font-weight="bold">Burst: deliveries/s (${num(config.clients)} clients, ${config.burstSize} broadcasts)</text>`,
  );
  for (let i = 0; i <= 4; i++) {
    const v = (maxRate * i) / 4;
    const y = panel.bottom - (plotH * i) / 4;
    out.push(`<line x1="${left1}" x2="${left1 + panel.width}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${left1 - 6}" y="${y + 4}" text-anchor="end">${shortNumber(v)}</text>`);
  }
  const slot = panel.width / Math.max(1, bars.length);
  bars.forEach((name, i) => {
    const h = (plotH * rates[i]) / maxRate;
    const x = left1 + i * slot + slot * 0.15;
    out.push(
      `<rect x="${x.toFixed(1)}" y="${(panel.bottom - h).toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[name] ?? '#000'}"><title>${escapeXml(name)}: ${num(rates[i])} deliveries/s</title></rect>`,
    );
    out.push(
      `<text x="${(x + slot * 0.35).toFixed(1)}" y="${(panel.bottom - h - 4).toFixed(1)}" text-anchor="middle" font-size="10">${shortNumber(rates[i])}</text>`,
    );
    out.push(
      `<text x="${(x + slot * 0.35).toFixed(1)}" y="${panel.bottom + 16}" text-anchor="middle" font-size="11">${escapeXml(name)}</text>`,
    );
  });
  out.push(`<line x1="${left1}" x2="${left1}" y1="${panel.top}" y2="${panel.bottom}" stroke="#111"/>`);
  out.push(
    `<line x1="${left1}" x2="${left1 + panel.width}" y1="${panel.bottom}" y2="${panel.bottom}" stroke="#111"/>`,
  );
  out.push(
    `<text transform="translate(${left1 - 58} ${(panel.top + panel.bottom) / 2}) rotate(-90)" text-anchor="middle">deliveries per second</text>`,
  );
  out.push(
    `<text x="${left1 + panel.width / 2}" y="${panel.bottom + 34}" text-anchor="middle">server</text>`,
  );

  // Panel 2: RSS per stream against the number of clients, a line per server.
  const points = config.memoryPoints;
  const kib = (name, n) => {
    const b = medians[name].memoryBytesPerStream[n];
    return typeof b === 'number' ? b / 1024 : null;
  };
  const allKib = servers.flatMap((name) => points.map((n) => kib(name, n))).filter((v) => v !== null);
  const maxKib = niceMax(Math.max(0, ...allKib));
  const minKib = Math.min(0, ...allKib);
  const maxClients = Math.max(...points, 1);
  const xOf = (n) => left2 + (points.length === 1 ? panel.width / 2 : (panel.width * n) / maxClients);
  const yOf = (v) => panel.bottom - (plotH * (v - minKib)) / (maxKib - minKib);
  out.push(
    `<text x="${left2 + panel.width / 2}" y="40" text-anchor="middle" font-weight="bold">Memory: RSS per open stream</text>`,
  );
  for (let i = 0; i <= 4; i++) {
    const v = minKib + ((maxKib - minKib) * i) / 4;
    const y = yOf(v);
    out.push(`<line x1="${left2}" x2="${left2 + panel.width}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${left2 - 6}" y="${y + 4}" text-anchor="end">${num(v, v % 1 ? 1 : 0)}</text>`);
  }
  for (const n of points)
    out.push(
      `<text x="${xOf(n).toFixed(1)}" y="${panel.bottom + 16}" text-anchor="middle">${shortNumber(n)}</text>`,
    );
  for (const name of servers) {
    const coords = points.map((n) => [n, kib(name, n)]).filter(([, v]) => v !== null);
    if (coords.length > 1)
      out.push(
        `<polyline fill="none" stroke="${COLORS[name] ?? '#000'}" stroke-width="2" points="${coords.map(([n, v]) => `${xOf(n).toFixed(1)},${yOf(v).toFixed(1)}`).join(' ')}"/>`,
      );
    for (const [n, v] of coords)
      out.push(
        `<circle cx="${xOf(n).toFixed(1)}" cy="${yOf(v).toFixed(1)}" r="3" fill="${COLORS[name] ?? '#000'}"><title>${escapeXml(name)} @ ${n}: ${num(v, 2)} KiB</title></circle>`,
      );
  }
  out.push(`<line x1="${left2}" x2="${left2}" y1="${panel.top}" y2="${panel.bottom}" stroke="#111"/>`);
  out.push(
    `<line x1="${left2}" x2="${left2 + panel.width}" y1="${panel.bottom}" y2="${panel.bottom}" stroke="#111"/>`,
  );
  out.push(
    `<text transform="translate(${left2 - 48} ${(panel.top + panel.bottom) / 2}) rotate(-90)" text-anchor="middle">KiB of RSS per stream</text>`,
  );
  out.push(
    `<text x="${left2 + panel.width / 2}" y="${panel.bottom + 34}" text-anchor="middle">open streams (clients)</text>`,
  );

  // Legend: one color per server, for both panels.
  const legendY = H - 14;
  const itemW = W / servers.length;
  servers.forEach((name, i) => {
    const x = i * itemW + itemW / 2 - 40;
    out.push(
      `<rect x="${x.toFixed(1)}" y="${legendY - 10}" width="12" height="12" fill="${COLORS[name] ?? '#000'}"/>`,
    );
    out.push(`<text x="${(x + 18).toFixed(1)}" y="${legendY}">${escapeXml(name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Writes latest.json, latest.md and chart.svg into `dir`; returns their paths. */
function writeResults(dir, results) {
  fs.mkdirSync(dir, { recursive: true });
  const files = {
    'latest.json': JSON.stringify(results, null, 2) + '\n',
    'latest.md': markdown(results),
    'chart.svg': svgChart(results),
  };
  return Object.entries(files).map(([name, text]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  });
}

module.exports = { summarize, printSummary, writeResults };
