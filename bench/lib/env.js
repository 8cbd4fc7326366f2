// Settings of the benchmarks, from the environment.

/** A positive integer from `name`, or `fallback` when it is unset; anything else stops the run with the reason. */
function intFromEnv(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new Error(`${name} must be a positive integer, got "${value}"`);
  return n;
}

module.exports = { intFromEnv };
