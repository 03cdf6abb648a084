-- riskmon: apply one credit event to one enterprise, exactly once (atomic).
--
-- Mirrors scoring/fold.py line for line (the parity tests run both on the same events).
-- All keys share the partition hash tag {pNNN}, so the call is Redis-Cluster safe.
--
-- KEYS[1]  enterprise hash     <prefix>:e:{pNNN}:<uscc>
--            c = contributions (MessagePack array of [key,dim,time,points,half_life,
--                expires,floor,tiebreak,cancelled,ref]: cmsgpack is several times faster
--                than cjson and keeps doubles exact), a = asof, k = class 1..4, s = score
--                (micro-points), d = due (0: none), v = model version, p = profile (cjson)
-- KEYS[2]  ledger hash         <prefix>:l:{pNNN}   event hash -> stored outcome
-- KEYS[3]  partition meta hash <prefix>:m:{pNNN}   wm = highest applied offset, A..D = counts
-- KEYS[4]  due sorted set      <prefix>:due:{pNNN} uscc -> next time-driven class change
--
-- ARGV[1]  model parameters, space-separated: version, thresholds b c d (micro), the five
--          dimension caps (micro), scheduling horizon (s)  (one argument: fewer to encode)
-- ARGV[2]  uscc               ARGV[3]  event hash        ARGV[4]  offset (-1: not from Kafka)
-- ARGV[5]  event asof (s)
-- ARGV[6]  contribution (MessagePack array, same layout as above without cancelled) or ""
-- ARGV[7]  key to cancel or ""
-- ARGV[8]  profile (cjson array [division, industry, new_economy, entity_type, time,
--          tiebreak]) or ""
--
-- Returns one string "status|old_class|new_class|score|asof|due|reasons_json" (reasons last:
-- it may itself contain "|"); status is "applied", "redelivered" (offset at or below the
-- watermark) or "republished" (same source+id seen at another offset). A duplicate returns
-- the outcome stored when it was first applied, so the caller re-sends the very same alert.
--
-- Everything is validated (decoded) before the first write: a script that fails half-way
-- would not roll back.

local ent, ledger, meta, dueset = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local params = {}
for word in string.gmatch(ARGV[1], '%S+') do params[#params + 1] = word end
local version = params[1]
local th = {tonumber(params[2]), tonumber(params[3]), tonumber(params[4])}
local caps = {tonumber(params[5]), tonumber(params[6]), tonumber(params[7]),
              tonumber(params[8]), tonumber(params[9])}
local horizon = tonumber(params[10])
local uscc, ehash = ARGV[2], ARGV[3]
local offset = tonumber(ARGV[4])
local event_asof = tonumber(ARGV[5])

-- 1. duplicate?
local seen = redis.call('HGET', ledger, ehash)
if seen then
  local wm = tonumber(redis.call('HGET', meta, 'wm') or '-1')
  local status = 'republished'
  if offset >= 0 and offset <= wm then status = 'redelivered' end
  return status .. '|' .. seen
end

-- 2. decode everything before writing anything
local incoming = nil
if ARGV[6] ~= '' then incoming = cmsgpack.unpack(ARGV[6]) end
local cancel_key = ARGV[7]
local profile = nil
if ARGV[8] ~= '' then profile = cjson.decode(ARGV[8]) end

local state = redis.call('HMGET', ent, 'c', 'a', 'k', 'p')
local contribs = {}
if state[1] then contribs = cmsgpack.unpack(state[1]) end
local asof = tonumber(state[2] or '0')
local old_class = tonumber(state[3] or '0')
local old_profile = nil
if state[4] then old_profile = cjson.decode(state[4]) end

local function record(outcome)
  redis.call('HSET', ledger, ehash, outcome)
  if offset >= 0 then
    local wm = tonumber(redis.call('HGET', meta, 'wm') or '-1')
    if offset > wm then redis.call('HSET', meta, 'wm', offset) end
  end
  return 'applied|' .. outcome
end

-- A re-evaluation of an enterprise we have never seen changes nothing.
if old_class == 0 and incoming == nil and cancel_key == '' and profile == nil then
  return record('0|0|0|0|0|')
end

-- 3. merge (index by key; the array keeps first-insertion order, which no number depends on)
local index = {}
for i, c in ipairs(contribs) do index[c[1]] = i end
if incoming then
  local i = index[incoming[1]]
  local c = {incoming[1], incoming[2], incoming[3], incoming[4], incoming[5], incoming[6],
             incoming[7], incoming[8], 0, incoming[9]}
  if not i then
    contribs[#contribs + 1] = c
    index[c[1]] = #contribs
  else
    local old = contribs[i]
    if old[3] < 0 or c[3] > old[3] or (c[3] == old[3] and c[8] > old[8]) then
      c[9] = old[9]
      contribs[i] = c
    end
  end
end
if cancel_key ~= '' then
  local i = index[cancel_key]
  if not i then
    contribs[#contribs + 1] = {cancel_key, 1, -1, 0, 0, 0, 0, 0, 1, ''}
  else
    contribs[i][9] = 1
  end
end
local profile_changed = false
if profile and (old_profile == nil or profile[5] > old_profile[5]
    or (profile[5] == old_profile[5] and profile[6] > old_profile[6])) then
  old_profile = profile
  profile_changed = true
end
if event_asof > asof then asof = event_asof end

-- 4. evaluate (integer micro-points; see fold.py)
local function current_micro(c, t)
  if c[9] == 1 or (c[6] ~= 0 and t >= c[6]) then return 0 end
  local v = c[4]
  if c[5] ~= 0 then
    local age = 0
    if t > c[3] then age = t - c[3] end
    v = v * 2 ^ (-age / c[5])
  end
  return math.floor(v * 1000000 + 0.5)
end

local function class_at(t)
  local per = {0, 0, 0, 0, 0}
  local floor = 0
  for _, c in ipairs(contribs) do
    per[c[2]] = per[c[2]] + current_micro(c, t)
    if c[7] > floor and c[9] ~= 1 and not (c[6] ~= 0 and t >= c[6]) then floor = c[7] end
  end
  local s = 0
  for d = 1, 5 do s = s + math.min(caps[d], per[d]) end
  if s < 0 then s = 0 end
  local k = 1
  for j = 1, 3 do if s >= th[j] then k = k + 1 end end
  if floor > k then k = floor end
  return k, s
end

local function next_change(k0)
  local exp, seen_exp = {}, {}
  local fades, credit_ends = false, false
  for _, c in ipairs(contribs) do
    if c[4] < 0 and c[6] > asof and c[9] ~= 1 then credit_ends = true end
    if c[6] > asof and c[9] ~= 1 and not seen_exp[c[6]] then
      seen_exp[c[6]] = true
      exp[#exp + 1] = c[6]
    end
    if c[5] ~= 0 and c[9] ~= 1 and c[4] > 0 then fades = true end
  end
  -- In A, time can only change the class where a credit (negative points) ends: fading and
  -- expiring risk points only lower the score further, and A has no floor to lose.
  if k0 == 1 and not credit_ends then return 0 end
  table.sort(exp)
  exp[#exp + 1] = 0
  local start = asof
  for _, e in ipairs(exp) do
    local last
    if e == 0 then
      if not fades then return 0 end
      e = start + horizon
      if class_at(e) == k0 then return 0 end
      last = e
    else
      last = e - 1
      if class_at(last) == k0 then
        if class_at(e) ~= k0 then return e end
        start = e
        last = nil
      end
    end
    if last then
      local lo, hi = start, last
      while hi - lo > 1 do
        local mid = math.floor((lo + hi) / 2)
        if class_at(mid) == k0 then lo = mid else hi = mid end
      end
      return hi
    end
  end
  return 0
end

local k, s = class_at(asof)
local due = next_change(k)

local reasons = ''
if k ~= old_class then
  local live = {}
  for _, c in ipairs(contribs) do
    local v = current_micro(c, asof)
    local active_floor = c[7] ~= 0 and c[9] ~= 1 and not (c[6] ~= 0 and asof >= c[6])
    if v > 0 or active_floor then live[#live + 1] = {c, v} end
  end
  table.sort(live, function(x, y)
    if x[1][7] ~= y[1][7] then return x[1][7] > y[1][7] end
    if x[2] ~= y[2] then return x[2] > y[2] end
    if x[1][3] ~= y[1][3] then return x[1][3] > y[1][3] end
    return x[1][8] > y[1][8]
  end)
  local top = {}
  for i = 1, math.min(3, #live) do top[i] = {live[i][1][1], live[i][2], live[i][1][7]} end
  if #top > 0 then reasons = cjson.encode(top) end
end

-- 5. write
local fields = {'c', cmsgpack.pack(contribs), 'a', asof, 'k', k, 's', s, 'd', due, 'v', version}
if profile_changed then
  fields[#fields + 1] = 'p'
  fields[#fields + 1] = cjson.encode(old_profile)
end
redis.call('HSET', ent, unpack(fields))
if due > 0 then
  redis.call('ZADD', dueset, due, uscc)
else
  redis.call('ZREM', dueset, uscc)
end
if k ~= old_class then
  local names = {'A', 'B', 'C', 'D'}
  redis.call('HINCRBY', meta, names[k], 1)
  if old_class > 0 then redis.call('HINCRBY', meta, names[old_class], -1) end
end
return record(string.format('%d|%d|%d|%d|%d|', old_class, k, s, asof, due) .. reasons)
