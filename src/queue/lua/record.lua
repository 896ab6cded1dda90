-- record.lua: not a script. embed_lua.cmake pastes it where a script says
-- "-- #include record.lua". Reading and editing a job record's header (record.h):
--   2|<pri>|<attempts>|<recoveries>|<lost>|<max_retries>|<run_at>|<name_len>:<name><rest>
-- where <rest> (the body with its length, then the error history) is carried unparsed.
-- Only scripts off the hot path call parse_record: a dequeue, an ack and an enqueue never
-- decode a record (the type filter reads the name with record_name).

-- The header as a table {pri, attempts, recoveries, lost, max_retries, run_at, name, rest},
-- or nil for bytes that are not a record.
local function parse_record(rec)
  if not rec then return nil end
  local pri, attempts, recoveries, lost, max_retries, run_at, name_len, at =
    string.match(rec, '^2|(%a)|(%d+)|(%d+)|(%d)|(%d+)|(%d+)|(%d+):()')
  if not pri then return nil end
  local name_end = at + tonumber(name_len) - 1
  return {pri = pri, attempts = tonumber(attempts), recoveries = tonumber(recoveries),
          lost = lost, max_retries = tonumber(max_retries), run_at = run_at,
          name = string.sub(rec, at, name_end), rest = string.sub(rec, name_end + 1)}
end

-- The record's bytes for a header table as parse_record returns it (after edits).
local function build_record(r)
  return table.concat({'2|', r.pri, '|', r.attempts, '|', r.recoveries, '|', r.lost, '|',
                       r.max_retries, '|', r.run_at, '|', #r.name, ':', r.name, r.rest})
end

-- The error history of a parsed record (its JSON tail after the body) and the record's
-- bytes without it: rest = '<body_len>:<body><errors>'.
local function split_errors(r)
  local body_len, at = string.match(r.rest, '^(%d+):()')
  local body_end = at + tonumber(body_len) - 1
  return string.sub(r.rest, 1, body_end), string.sub(r.rest, body_end + 1)
end

-- Appends {attempt, at, error} to a parsed record's history, keeping the newest `cap`.
local function append_error(r, attempt, now, message, cap)
  local body, errors = split_errors(r)
  local history = {}
  if errors ~= '' then history = cjson.decode(errors) end
  history[#history + 1] = {attempt = attempt, at = now, error = message}
  while #history > cap do table.remove(history, 1) end
  r.rest = body .. cjson.encode(history)
end

-- The priority letter of a record ('h', 'n' or 'l'), read without parsing it.
local function record_priority(rec)
  return string.sub(rec, 3, 3)
end

-- The job type of a record, read without parsing the rest (the type filter).
local function record_name(rec)
  local name_len, at = string.match(rec, '^2|%a|%d+|%d+|%d|%d+|%d+|(%d+):()')
  if not name_len then return nil end
  return string.sub(rec, at, at + tonumber(name_len) - 1)
end

-- The final record of a job cancelled at `now` (record.h): nothing charged, no result.
local function cancelled_record(rec, now)
  return 'x' .. now .. '|0|0|0:' .. rec
end

-- Stores final records into the done hash of `now`'s bucket of class `class` ('c' completed,
-- 'x' cancelled): pairs = {id, final, id, final, ...}. One HSET, and one PEXPIRE NX that
-- says whether the bucket is new (then one ZADD into `buckets`, the index GET reads). The
-- bucket is max(ttl / 16, 1000) ms wide and lives until ttl after its end; ttl 0 keeps it.
local function store_finals(done_prefix, buckets_key, class, now, ttl, pairs)
  if #pairs == 0 then return end
  local width = 86400000
  if ttl > 0 then width = math.max(math.floor(ttl / 16), 1000) end
  local bucket = math.floor(now / width)
  local key = done_prefix .. class .. ':' .. bucket
  for i = 1, #pairs, 2000 do  -- unpack has a stack limit
    redis.call('HSET', key, unpack(pairs, i, math.min(i + 1999, #pairs)))
  end
  if ttl > 0 then
    -- PEXPIRE, not PEXPIREAT: relative to Redis' own clock, so a caller whose clock is
    -- pinned (tests) or off gets the same lifetime.
    local expiry = (bucket + 1) * width + ttl
    if redis.call('PEXPIRE', key, expiry - now, 'NX') == 1 then
      redis.call('ZADD', buckets_key, expiry, key)
    end
  else
    redis.call('ZADD', buckets_key, 'NX', '+inf', key)
  end
end

local function store_final(done_prefix, buckets_key, class, now, ttl, id, final)
  store_finals(done_prefix, buckets_key, class, now, ttl, {id, final})
end
