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
