#!lua
-- promote_due.lua: make due scheduled and retry jobs pending, and say when the next is due.
-- KEYS[1] <p>:{q}:scheduled  zset id -> run_at      KEYS[2] <p>:{q}:retry  zset id -> retry_at
-- KEYS[3] <p>:{q}:pending:high   KEYS[4] <p>:{q}:pending:normal   KEYS[5] <p>:{q}:pending:low
-- KEYS[6] <p>:{q}:marker     worker wake-up tokens
-- KEYS[7] <p>:{q}:job:       prefix of job hashes
-- ARGV[1] now (unix ms)   ARGV[2] the most jobs to move in this call
-- Returns: {moved, next_due}: next_due is the earliest due time left (unix ms), -1 if none.
-- Guarantee: each due job moves exactly once, from its zset to the tail of its pending list
--          (the end workers take next: it is already late), in one atomic step.
-- Complexity: O(moved * log n).
local pending = {high = KEYS[3], normal = KEYS[4], low = KEYS[5]}
local marker, job_prefix = KEYS[6], KEYS[7]
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])

local moved = 0
for _, zset in ipairs({KEYS[1], KEYS[2]}) do
  if moved >= limit then break end
  local ids = redis.call('ZRANGEBYSCORE', zset, '-inf', now, 'LIMIT', 0, limit - moved)
  for _, id in ipairs(ids) do
    redis.call('ZREM', zset, id)
    local job = job_prefix .. id
    local priority = redis.call('HGET', job, 'priority')
    if priority and pending[priority] then
      redis.call('HSET', job, 'state', 'pending', 'updated', now)
      redis.call('RPUSH', pending[priority], id)
      moved = moved + 1
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
