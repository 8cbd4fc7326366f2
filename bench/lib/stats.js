// Small statistics helpers: medians across rounds, nearest-rank percentiles across repeats.

function sorted(values) {
  return values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
}

function median(values) {
  const s = sorted(values);
  if (s.length === 0) return null;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100): with 50 samples, p99 is the largest. */
function percentile(values, p) {
  const s = sorted(values);
  if (s.length === 0) return null;
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

module.exports = { median, percentile };
