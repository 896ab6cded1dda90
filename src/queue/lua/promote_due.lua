#!lua
-- promote_due.lua: make due scheduled and retry jobs pending, and say when the next is due.
-- KEYS[1] <p>:{q}:scheduled  zset id -> run_at      KEYS[2] <p>:{q}:retry  zset id -> retry_at
-- KEYS[3] <p>:{q}:pending:high   KEYS[4] <p>:{q}:pending:normal   KEYS[5] <p>:{q}:pending:low
-- KEYS[6] <p>:{q}:marker     worker wake-up tokens
-- KEYS[7] <p>:{q}:jobs       hash id -> record (read: the priority in its header)
-- ARGV[1] now (unix ms)   ARGV[2] the most jobs to move in this call
-- Returns: {moved, next_due}: next_due is the earliest due time left (unix ms), -1 if none.
-- Guarantee: each due job moves exactly once, from its zset to the tail of its pending list
--          (the end workers take next: it is already late), in one atomic step. The record
--          is not written: its run_at already says when it became due. An id without a
--          record leaves its zset and goes nowhere.
-- Complexity: O(moved * log n): per zset one ZRANGEBYSCORE, ZREM and HMGET, then one RPUSH
--          per priority.
-- #include record.lua
local pending = {h = KEYS[3], n = KEYS[4], l = KEYS[5]}
local marker, jobs = KEYS[6], KEYS[7]
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])

local moved = 0
for _, zset in ipairs({KEYS[1], KEYS[2]}) do
  if moved >= limit then break end
  local ids = redis.call('ZRANGEBYSCORE', zset, '-inf', now, 'LIMIT', 0, limit - moved)
  if #ids > 0 then
    redis.call('ZREM', zset, unpack(ids))
    local recs = redis.call('HMGET', jobs, unpack(ids))
    local by_priority = {h = {}, n = {}, l = {}}
    for i, id in ipairs(ids) do
      local list = recs[i] and by_priority[record_priority(recs[i])]
      if list then list[#list + 1] = id end
    end
    for _, p in ipairs({'h', 'n', 'l'}) do
      local list = by_priority[p]
      if #list > 0 then
        redis.call('RPUSH', pending[p], unpack(list))
        moved = moved + #list
      end
    end
  end
end

if moved > 0 then
  local want = math.min(moved, 8) - redis.call('LLEN', marker)
  if want > 0 then
    local tokens = {}
    for k = 1, want do tokens[k] = '1' end
    redis.call('LPUSH', marker, unpack(tokens))
  end
end

local next_due = -1
for _, zset in ipairs({KEYS[1], KEYS[2]}) do
  local head = redis.call('ZRANGE', zset, 0, 0, 'WITHSCORES')
  if #head > 0 then
    local due = tonumber(head[2])
    if next_due < 0 or due < next_due then next_due = due end
  end
end
return {moved, next_due}
