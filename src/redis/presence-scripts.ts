// The Lua scripts of Redis presence (see `RedisPresence`): each one atomic, on keys of one hash slot.

/**
 * Applies one flush of presence changes atomically, so that a connection cut part-way
 * cannot leave a stream in a channel's hash that its instance's record no longer names.
 * KEYS: the hashes touched; ARGV: ('S', key index, field, value) or ('D', key index, field).
 */
export const APPLY_SCRIPT = `
local i = 1
while i <= #ARGV do
  local key = KEYS[tonumber(ARGV[i + 1])]
  if ARGV[i] == 'S' then
    redis.call('HSET', key, ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  else
    redis.call('HDEL', key, ARGV[i + 2])
    i = i + 3
  end
end
return 1
`;

/**
 * Takes a dead instance's streams out of presence, if it is still there and still dead:
 * one script, so that of the live instances that notice the death only one gets its
 * streams (and sends their `leave` events). An entry that names another instance (the
 * stream is someone else's now) is left alone. KEYS: instances, the instance's streams,
 * presence, then presence:<channel> of each channel and presence-user:<user> of each user
 * in ARGV (ARGV[n] is the name of KEYS[n] from n = 4 on); ARGV: the instance, now (ms),
 * how many channels, the channels its streams are in, then their users. Returns (id,
 * channel, entry) of each stream that announces.
 */
export const CLAIM_SCRIPT = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return {} end
redis.call('ZREM', KEYS[1], ARGV[1])
local channels = tonumber(ARGV[3])
local channelKey = {}
local userKey = {}
for n = 4, #ARGV do
  if n <= channels + 3 then channelKey[ARGV[n]] = KEYS[n] else userKey[ARGV[n]] = KEYS[n] end
end
local departed = {}
local streams = redis.call('HGETALL', KEYS[2])
for s = 1, #streams, 2 do
  local id = streams[s]
  local stored = redis.call('HGET', KEYS[3], id)
  if stored then
    local decoded = cjson.decode(stored)
    if decoded.i == ARGV[1] then redis.call('HDEL', KEYS[3], id) end
    -- Its user's index, by the user its entry names (the instance's record keeps channels only).
    local key = type(decoded.u) == 'string' and userKey[decoded.u]
    local entry = key and redis.call('HGET', key, id)
    if entry and cjson.decode(entry).i == ARGV[1] then redis.call('HDEL', key, id) end
  end
  for _, channel in ipairs(cjson.decode(streams[s + 1])) do
    local key = channelKey[channel]
    local entry = key and redis.call('HGET', key, id)
    if entry then
      local decoded = cjson.decode(entry)
      if decoded.i == ARGV[1] then
        redis.call('HDEL', key, id)
        if decoded.a then
          departed[#departed + 1] = id
          departed[#departed + 1] = channel
          departed[#departed + 1] = entry
        end
      end
    end
  end
end
redis.call('DEL', KEYS[2])
return departed
`;
