// The Lua scripts of Redis runs (see `RedisRunStore`): each one atomic, on the two keys of a
// run (or of several runs), all in the stream's hash slot. KEYS[1] is a run's hash (run,
// status, first, last, bytes, ttl, maxEvents, maxBytes, leaseEnd), KEYS[2] the list of its
// kept events (oldest first: the one at index i is numbered first + i). Time is Redis's own
// (TIME), so that the instances' clocks do not matter.

/**
 * What every script starts with: the server's time in ms, numbers written as integers
 * (Lua's own conversion keeps 14 digits), and the run of a hash as it stands: a running
 * run whose lease ran out is `failed` (it is never renewed again, and its keys expire
 * `ttl` after the lease's end).
 */
const PRELUDE = `
local function now()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local function int(n) return string.format('%d', n) end
local function load(key, t)
  local m = redis.call('HMGET', key, 'run', 'status', 'first', 'last', 'bytes', 'ttl',
    'maxEvents', 'maxBytes', 'leaseEnd')
  if not m[1] then return nil end
  local run = { run = m[1], status = m[2], first = tonumber(m[3]), last = tonumber(m[4]),
    bytes = tonumber(m[5]), ttl = tonumber(m[6]), maxEvents = tonumber(m[7]),
    maxBytes = tonumber(m[8]), leaseEnd = tonumber(m[9]) }
  if run.status == 'running' and run.leaseEnd <= t then run.status = 'failed' end
  return run
end
local function record(run) return { run.run, run.status, int(run.first), int(run.last) } end
-- Renews the lease: both keys live while it runs, and ttl after it ran out.
local function lease(keys, run, t, ms)
  redis.call('HSET', keys[1], 'leaseEnd', int(t + ms))
  redis.call('PEXPIRE', keys[1], int(ms + run.ttl))
  redis.call('PEXPIRE', keys[2], int(ms + run.ttl))
end
`;

/**
 * Creates the run unless the key has one (running, failed or finished and not yet expired).
 * ARGV: run, ttl, maxEvents, maxBytes, lease (ms). Returns (1 if created else 0, record...).
 */
export const CLAIM_RUN_SCRIPT = `${PRELUDE}
local t = now()
local run = load(KEYS[1], t)
if run then
  local reply = record(run)
  table.insert(reply, 1, 0)
  return reply
end
-- Events of an earlier run whose hash alone went (evicted): not this run's.
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'run', ARGV[1], 'status', 'running', 'first', '1', 'last', '0', 'bytes', '0',
  'ttl', ARGV[2], 'maxEvents', ARGV[3], 'maxBytes', ARGV[4], 'leaseEnd', int(t + tonumber(ARGV[5])))
redis.call('PEXPIRE', KEYS[1], int(tonumber(ARGV[5]) + tonumber(ARGV[2])))
return { 1, ARGV[1], 'running', '1', '0' }
`;

/**
 * Adds the events numbered from ARGV[2] that the run does not have yet (a gap drops every
 * kept event first), trims the oldest beyond its limits (always keeping the newest),
 * and renews its lease. ARGV: run, from, lease (ms), events... Returns 1, or 0 when
 * refused (no such run, another run, or not running).
 */
export const APPEND_RUN_SCRIPT = `${PRELUDE}
local t = now()
local run = load(KEYS[1], t)
if not run or run.run ~= ARGV[1] or run.status ~= 'running' then return 0 end
local from = tonumber(ARGV[2])
if from > run.last + 1 then
  redis.call('DEL', KEYS[2])
  run.first = from
  run.last = from - 1
  run.bytes = 0
end
-- ARGV[i] is event number from + i - 4: those up to last are skipped (a retry).
local top = from + #ARGV - 4
if top > run.last then
  local start = 4 + run.last + 1 - from
  if top - run.last >= run.maxEvents then
    -- What is kept and the oldest of these would all be trimmed: only the newest are added.
    redis.call('DEL', KEYS[2])
    run.bytes = 0
    start = #ARGV - run.maxEvents + 1
    run.first = from + start - 4
  end
  for i = start, #ARGV, 1000 do
    local stop = math.min(i + 999, #ARGV)
    redis.call('RPUSH', KEYS[2], unpack(ARGV, i, stop))
    for j = i, stop do run.bytes = run.bytes + #ARGV[j] end
  end
  run.last = top
end
while run.last > run.first and (run.last - run.first + 1 > run.maxEvents or run.bytes > run.maxBytes) do
  local oldest = redis.call('LPOP', KEYS[2])
  run.bytes = run.bytes - (oldest and #oldest or 0)
  run.first = run.first + 1
end
redis.call('HSET', KEYS[1], 'first', int(run.first), 'last', int(run.last), 'bytes', int(run.bytes))
lease(KEYS, run, t, tonumber(ARGV[3]))
return 1
`;

/**
 * The run and up to ARGV[2] of its events numbered after ARGV[1] (from its first when
 * those were trimmed), read at once. Returns (record..., from, events), or false when
 * there is no run.
 */
export const READ_RUN_SCRIPT = `${PRELUDE}
local run = load(KEYS[1], now())
if not run then return false end
local from = math.max(tonumber(ARGV[1]) + 1, run.first)
local stop = math.min(from + tonumber(ARGV[2]) - 1, run.last)
local events = {}
if stop >= from then
  events = redis.call('LRANGE', KEYS[2], int(from - run.first), int(stop - run.first))
end
local reply = record(run)
reply[5] = int(from)
reply[6] = events
return reply
`;

/**
 * Ends the run with ARGV[3] if it is running, and is the run ARGV[2] (when ARGV[1] is
 * '1'; any run otherwise): its keys then expire its ttl from now. Returns the record as
 * ended, or false when nothing was running to end.
 */
export const FINISH_RUN_SCRIPT = `${PRELUDE}
local run = load(KEYS[1], now())
if not run or run.status ~= 'running' or (ARGV[1] == '1' and run.run ~= ARGV[2]) then return false end
run.status = ARGV[3]
redis.call('HSET', KEYS[1], 'status', run.status)
redis.call('PEXPIRE', KEYS[1], int(run.ttl))
redis.call('PEXPIRE', KEYS[2], int(run.ttl))
return record(run)
`;

/**
 * Renews the lease of several runs, each if it is still running as the run given.
 * KEYS: (hash, events) of each run; ARGV: lease (ms), then the run of each. Returns
 * how many were renewed.
 */
export const RENEW_RUNS_SCRIPT = `${PRELUDE}
local t = now()
local renewed = 0
for i = 2, #ARGV do
  local keys = { KEYS[2 * i - 3], KEYS[2 * i - 2] }
  local run = load(keys[1], t)
  if run and run.run == ARGV[i] and run.status == 'running' then
    lease(keys, run, t, tonumber(ARGV[1]))
    renewed = renewed + 1
  end
end
return renewed
`;

/** Deletes the run if it is ARGV[1] and has no event yet. Returns 1 if it did. */
export const RELEASE_RUN_SCRIPT = `${PRELUDE}
local run = load(KEYS[1], now())
if not run or run.run ~= ARGV[1] or run.last ~= 0 then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`;
