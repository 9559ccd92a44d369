/**
 * Lua scripts of {@linkcode RedisKeyValue}. Kept apart from the adapter so the
 * fence protocol can be read in one place.
 *
 * Calling convention of {@linkcode APPLY_FENCED_LUA}:
 * - `KEYS[1]` is the fence hash (fields `epoch`, `offset`); `KEYS[2..]` are the
 *   distinct keys the ops touch, so that Redis Cluster sees every key (it then
 *   rejects a batch spanning slots with CROSSSLOT instead of misbehaving; a
 *   clustered deployment has to hash-tag a job's keys into one slot).
 * - `ARGV[1]`, `ARGV[2]` are the batch's epoch and last offset; then the ops,
 *   flat: opcode, key index into `KEYS`, the op's arguments. Opcodes:
 *   `i` incrby(by), `z` zincrby(member, by), `a` zadd(member, score),
 *   `s` set(value), `h` hset(field, value), `d` del(), `e` pexpire(ms),
 *   `r` zremrangebyscore(min, max) (bounds as ZREMRANGEBYSCORE takes them,
 *   `-inf`/`+inf` included).
 *
 * A Lua script is not rolled back when a command fails half-way, so the script
 * first replays the batch against a model of each key's type (and integer value
 * for INCRBY) and writes only when every op would succeed. The model does not
 * follow scores: after `r` a sorted set stays a sorted set to it, even if the
 * removal would empty it (the rule of `KeyValue.applyFenced`).
 *
 * @module
 */

/** Arity (arguments after the key index) of each opcode. */
export const OPCODE_ARITY: Readonly<Record<string, number>> = {
  i: 1,
  z: 2,
  a: 2,
  s: 1,
  h: 2,
  d: 0,
  e: 1,
  r: 2,
};

export const APPLY_FENCED_LUA = `
local fence_epoch = tonumber(ARGV[1])
local fence_offset = tonumber(ARGV[2])
local stored = redis.call('HMGET', KEYS[1], 'epoch', 'offset')
local stored_epoch = tonumber(stored[1])
local stored_offset = tonumber(stored[2])
if stored_epoch and stored_epoch > fence_epoch then return 'fenced' end
if stored_offset and fence_offset <= stored_offset then return 'duplicate' end

local arity = { i = 1, z = 2, a = 2, s = 1, h = 2, d = 0, e = 1, r = 2 }
local int64_limit = 9.2e18

local function integer_of(value)
  if value == '0' or string.match(value, '^%-?[1-9]%d*$') then
    if #value <= 19 then return tonumber(value) end
  end
  return nil
end

local model = {}
local function model_of(key)
  local m = model[key]
  if m then return m end
  -- One GET tells a string's value, or that the key is missing; only a key
  -- of another type (an error reply) costs a TYPE too.
  local value = redis.pcall('GET', key)
  if value == false then
    m = { kind = 'none' }
  elseif type(value) == 'table' then
    m = { kind = redis.call('TYPE', key).ok }
  else
    m = { kind = 'string', int = integer_of(value) }
  end
  model[key] = m
  return m
end

local function reject(op_number, opcode, key, rule)
  return redis.error_reply('FRESHET op ' .. op_number .. ' (' .. opcode ..
    ' on ' .. key .. ') ' .. rule .. '; nothing was written')
end

local i = 3
local op_number = 0
while i <= #ARGV do
  local opcode = ARGV[i]
  local key = KEYS[tonumber(ARGV[i + 1])]
  local n = arity[opcode]
  if n == nil or key == nil then
    return redis.error_reply('FRESHET malformed batch at argument ' .. i)
  end
  op_number = op_number + 1
  local m = model_of(key)
  if opcode == 'i' then
    if m.kind == 'none' then m.kind = 'string'; m.int = 0 end
    if m.kind ~= 'string' then
      return reject(op_number, 'incrby', key, 'needs a string but the key holds a ' .. m.kind)
    end
    if m.int == nil then
      return reject(op_number, 'incrby', key, 'needs an integer value')
    end
    m.int = m.int + tonumber(ARGV[i + 2])
    if m.int >= int64_limit or m.int <= -int64_limit then
      return reject(op_number, 'incrby', key, 'would overflow a 64-bit integer')
    end
  elseif opcode == 'z' or opcode == 'a' then
    if m.kind == 'none' then m.kind = 'zset' end
    if m.kind ~= 'zset' then
      return reject(op_number, 'zincrby/zadd', key, 'needs a sorted set but the key holds a ' .. m.kind)
    end
  elseif opcode == 's' then
    m.kind = 'string'
    m.int = integer_of(ARGV[i + 2])
  elseif opcode == 'h' then
    if m.kind == 'none' then m.kind = 'hash' end
    if m.kind ~= 'hash' then
      return reject(op_number, 'hset', key, 'needs a hash but the key holds a ' .. m.kind)
    end
  elseif opcode == 'd' then
    m.kind = 'none'
    m.int = nil
  elseif opcode == 'e' then
    -- PEXPIRE with a non-positive time deletes the key.
    if tonumber(ARGV[i + 2]) <= 0 then m.kind = 'none'; m.int = nil end
  elseif opcode == 'r' then
    -- Scores are not modelled: a set this may empty stays a sorted set.
    if m.kind ~= 'none' and m.kind ~= 'zset' then
      return reject(op_number, 'zremrangebyscore', key, 'needs a sorted set but the key holds a ' .. m.kind)
    end
  end
  i = i + 2 + n
end

i = 3
while i <= #ARGV do
  local opcode = ARGV[i]
  local key = KEYS[tonumber(ARGV[i + 1])]
  if opcode == 'i' then
    redis.call('INCRBY', key, ARGV[i + 2])
  elseif opcode == 'z' then
    redis.call('ZINCRBY', key, ARGV[i + 3], ARGV[i + 2])
  elseif opcode == 'a' then
    redis.call('ZADD', key, ARGV[i + 3], ARGV[i + 2])
  elseif opcode == 's' then
    redis.call('SET', key, ARGV[i + 2])
  elseif opcode == 'h' then
    redis.call('HSET', key, ARGV[i + 2], ARGV[i + 3])
  elseif opcode == 'd' then
    redis.call('DEL', key)
  elseif opcode == 'e' then
    redis.call('PEXPIRE', key, ARGV[i + 2])
  elseif opcode == 'r' then
    redis.call('ZREMRANGEBYSCORE', key, ARGV[i + 2], ARGV[i + 3])
  end
  i = i + 2 + arity[opcode]
end

redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'offset', ARGV[2])
return 'applied'
`;

/**
 * `KEYS[1]` is the fence hash; answers `{epoch, offset}`, the offset as the
 * stored text (a Lua number would come back truncated to an integer, and
 * positions of processing-time steps are fractional). A fence without
 * batches gets offset -1 stored, so the hash always holds both fields.
 */
export const CLAIM_FENCE_LUA = `
local epoch = (tonumber(redis.call('HGET', KEYS[1], 'epoch')) or 0) + 1
local offset = redis.call('HGET', KEYS[1], 'offset')
if not offset then offset = '-1' end
redis.call('HSET', KEYS[1], 'epoch', string.format('%d', epoch), 'offset', offset)
return { epoch, offset }
`;
