-- riskmon: apply a batch of credit events of one Kafka partition, each exactly once, or
-- re-classify a batch of enterprises under new model parameters. One call, one Redis slot.
--
-- Mirrors scoring/fold.py line for line (the parity tests run both on the same events).
-- All keys share the partition hash tag {pNNN}, so the call is Redis-Cluster safe. One call
-- per batch, not per event: Redis and its client spend their time on events, not on commands.
--
-- KEYS[1]  ledger hash         <prefix>:l:{pNNN}   event hash -> stored outcome
-- KEYS[2]  partition meta hash <prefix>:m:{pNNN}   wm = highest applied offset, A..D = counts
-- KEYS[3]  due sorted set      <prefix>:due:{pNNN} uscc -> next time-driven class change
-- KEYS[4..] the enterprises    <prefix>:e:{pNNN}:<uscc>, one per event (apply) or per
--          enterprise (reclassify). Each is one string, a MessagePack array (one value, not
--          a hash: a hash of this size would leave Redis' compact encoding and cost 3x):
--            {version, asof, class 1..4, score (micro), due (0: none), profile or false,
--             contributions}
--          contribution = {key, dimension, time, points, half_life, expires, floor,
--                          tiebreak, cancelled 0/1, ref}
--          profile      = {division, industry, new_economy 0/1, entity_type, time, tiebreak}
--          (ref and entity_type are a word's number in scoring/words.py, or the word; this
--          script only keeps them)
--
-- ARGV[1]  model parameters, space-separated: version, thresholds b c d (micro), the five
--          dimension caps (micro), scheduling horizon (s)
-- ARGV[2]  "apply" or "reclassify"
-- ARGV[3]  apply: MessagePack array of events, in log order, event i for KEYS[3 + i]:
--            {uscc, event hash, offset (-1: not from Kafka), asof (s),
--             contribution without `cancelled` or false, key to cancel or "", profile or false}
--          reclassify: "force" to re-evaluate enterprises already under this version, or ""
--
-- apply returns one string per event: "status|old_class|new_class|score|asof|due|reasons_json"
-- (reasons last: they may contain "|"); status is "applied", "redelivered" (offset at or below
-- the watermark) or "republished" (same source+id seen at another offset). A duplicate returns
-- the outcome stored when it was first applied, so the caller re-sends the very same alert.
--
-- reclassify re-evaluates each enterprise at its own asof under ARGV[1] (no ledger entry: it
-- is a function of the state) and returns one string per key: "" when the enterprise is
-- unknown or already evaluated under this model version, else
-- "old_class|new_class|score|asof|due|reasons_json".
--
-- The events are decoded before the first write, and each event writes its state, ledger
-- entry, class counts and watermark together: a failure part-way leaves a consistent prefix of
-- the batch applied (Redis does not roll a script back), which the caller's retry completes
-- (duplicates change nothing).

local ledger, meta, dueset = KEYS[1], KEYS[2], KEYS[3]
local params = {}
for word in string.gmatch(ARGV[1], '%S+') do params[#params + 1] = word end
local version = params[1]
local th = {tonumber(params[2]), tonumber(params[3]), tonumber(params[4])}
local caps = {tonumber(params[5]), tonumber(params[6]), tonumber(params[7]),
              tonumber(params[8]), tonumber(params[9])}
local horizon = tonumber(params[10])
local mode = ARGV[2]
local names = {'A', 'B', 'C', 'D'}

-- Evaluation (integer micro-points; see fold.py) -------------------------------------------
-- (math functions as locals: the bisection calls class_at some 30 times per enterprise, and
-- a global lookup per call is measurable there)

local floor, min, ipairs = math.floor, math.min, ipairs

local function current_micro(c, t)
  if c[9] == 1 or (c[6] ~= 0 and t >= c[6]) then return 0 end
  local v = c[4]
  if c[5] ~= 0 then
    local age = 0
    if t > c[3] then age = t - c[3] end
    v = v * 2 ^ (-age / c[5])
  end
  return floor(v * 1000000 + 0.5)
end

local function class_at(contribs, t)
  local p1, p2, p3, p4, p5 = 0, 0, 0, 0, 0
  local fl = 0
  for _, c in ipairs(contribs) do
    local v = current_micro(c, t)
    local d = c[2]
    if d == 1 then p1 = p1 + v elseif d == 2 then p2 = p2 + v elseif d == 3 then p3 = p3 + v
    elseif d == 4 then p4 = p4 + v else p5 = p5 + v end
    if c[7] > fl and c[9] ~= 1 and not (c[6] ~= 0 and t >= c[6]) then fl = c[7] end
  end
  local s = min(caps[1], p1) + min(caps[2], p2) + min(caps[3], p3) + min(caps[4], p4)
    + min(caps[5], p5)
  if s < 0 then s = 0 end
  local k = 1
  if s >= th[1] then k = 2 end
  if s >= th[2] then k = 3 end
  if s >= th[3] then k = 4 end
  if fl > k then k = fl end
  return k, s
end

-- class_at and the slope of the score at t (micro-points per second): the fading of live
-- contributions in dimensions under their cap (what expires later is not in it).
local LN2 = math.log(2)
local function class_slope_at(contribs, t)
  local p1, p2, p3, p4, p5 = 0, 0, 0, 0, 0
  local q1, q2, q3, q4, q5 = 0, 0, 0, 0, 0
  local fl = 0
  for _, c in ipairs(contribs) do
    local v = current_micro(c, t)
    local d = c[2]
    local q = 0
    if v ~= 0 and c[5] ~= 0 and t > c[3] then q = v * LN2 / c[5] end
    if d == 1 then p1 = p1 + v; q1 = q1 + q elseif d == 2 then p2 = p2 + v; q2 = q2 + q
    elseif d == 3 then p3 = p3 + v; q3 = q3 + q elseif d == 4 then p4 = p4 + v; q4 = q4 + q
    else p5 = p5 + v; q5 = q5 + q end
    if c[7] > fl and c[9] ~= 1 and not (c[6] ~= 0 and t >= c[6]) then fl = c[7] end
  end
  local s, fall = 0, 0
  if p1 < caps[1] then s = s + p1; fall = fall + q1 else s = s + caps[1] end
  if p2 < caps[2] then s = s + p2; fall = fall + q2 else s = s + caps[2] end
  if p3 < caps[3] then s = s + p3; fall = fall + q3 else s = s + caps[3] end
  if p4 < caps[4] then s = s + p4; fall = fall + q4 else s = s + caps[4] end
  if p5 < caps[5] then s = s + p5; fall = fall + q5 else s = s + caps[5] end
  if s < 0 then s = 0 end
  local k = 1
  if s >= th[1] then k = 2 end
  if s >= th[2] then k = 3 end
  if s >= th[3] then k = 4 end
  if fl > k then k = fl end
  return k, s, fall
end

-- The first second in (lo, hi] whose class is not k0, given that the class is k0 at lo, is
-- not at hi, and only falls in between (so that second is unique). fold.py finds it by
-- bisection; this takes Newton steps on the score from the last second known to be in k0
-- (a sum of fading points is convex, so a step from the left lands short of the threshold,
-- or past it only where an expiry or a cap intervenes), and bisects when a step would leave
-- the bracket, miss, or make no progress: the same second in a handful of evaluations
-- instead of about 27.
local function first_change(contribs, lo, hi, k0)
  local target = th[k0 - 1] or math.huge
  local _, s, fall = class_slope_at(contribs, lo)
  local newton = true
  while hi - lo > 1 do
    local mid
    if newton and s >= target and fall > 0 then
      mid = lo + math.ceil((s - target) / fall)
      if mid <= lo then mid = lo + 1 end
      if mid >= hi then mid = nil end
    end
    if mid == nil then mid = floor((lo + hi) / 2) end
    local k, ms, mfall = class_slope_at(contribs, mid)
    if k == k0 then
      lo, s, fall, newton = mid, ms, mfall, true
    else
      hi = mid
      if newton and mid - 1 > lo and class_at(contribs, mid - 1) == k0 then return mid end
      newton = false
    end
  end
  return hi
end

local function next_change(contribs, asof, k0)
  local credits, seen = {}, {}
  local last, fades = asof, false
  for _, c in ipairs(contribs) do
    if c[9] ~= 1 then
      if c[6] > asof then
        if c[6] > last then last = c[6] end
        if c[4] < 0 and not seen[c[6]] then
          seen[c[6]] = true
          credits[#credits + 1] = c[6]
        end
      end
      if c[5] ~= 0 and c[4] > 0 then fades = true end
    end
  end
  -- In A, time can only change the class where a credit (negative points) ends: fading and
  -- expiring risk points only lower the score further, and A has no floor to lose.
  if k0 == 1 and #credits == 0 then return 0 end
  -- Between two moments a credit ends, the class can only fall: one bisection per stretch.
  table.sort(credits)
  local start = asof
  for _, e in ipairs(credits) do
    if class_at(contribs, e - 1) ~= k0 then return first_change(contribs, start, e - 1, k0) end
    if class_at(contribs, e) ~= k0 then return e end
    start = e
  end
  if class_at(contribs, last) ~= k0 then return first_change(contribs, start, last, k0) end
  if not fades or class_at(contribs, last + horizon) == k0 then return 0 end
  return first_change(contribs, last, last + horizon, k0)
end

local function top_reasons(contribs, asof)
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
  if #top == 0 then return '' end
  return cjson.encode(top)
end

-- Evaluate at asof, store, keep the due index and class counts; the outcome string.
local function settle(key, uscc, old_class, old_due, asof, profile, contribs)
  local k, s = class_at(contribs, asof)
  local due = next_change(contribs, asof, k)
  local reasons = ''
  if k ~= old_class then
    reasons = top_reasons(contribs, asof)
    redis.call('HINCRBY', meta, names[k], 1)
    if old_class > 0 then redis.call('HINCRBY', meta, names[old_class], -1) end
  end
  redis.call('SET', key, cmsgpack.pack({version, asof, k, s, due, profile, contribs}))
  if due > 0 then
    if due ~= old_due then redis.call('ZADD', dueset, due, uscc) end
  elseif old_due > 0 then
    redis.call('ZREM', dueset, uscc)
  end
  return string.format('%d|%d|%d|%d|%d|', old_class, k, s, asof, due) .. reasons
end

local function load(key)
  local raw = redis.call('GET', key)
  if not raw then return nil end
  return cmsgpack.unpack(raw)
end

-- Reclassify --------------------------------------------------------------------------------

if mode == 'reclassify' then
  local out = {}
  for i = 4, #KEYS do
    local st = load(KEYS[i])
    if st == nil or (st[1] == version and ARGV[3] ~= 'force') then
      out[#out + 1] = ''
    else
      local uscc = string.match(KEYS[i], ':([^:]+)$')
      out[#out + 1] = settle(KEYS[i], uscc, st[3], st[5], st[2], st[6], st[7])
    end
  end
  return out
end

-- Apply -------------------------------------------------------------------------------------

local events = cmsgpack.unpack(ARGV[3])
local wm = tonumber(redis.call('HGET', meta, 'wm') or '-1')
local out = {}

for i, ev in ipairs(events) do
  local key, uscc, ehash, offset, event_asof = KEYS[3 + i], ev[1], ev[2], ev[3], ev[4]
  local incoming, cancel_key, profile = ev[5], ev[6], ev[7]
  local seen = redis.call('HGET', ledger, ehash)
  if seen then
    local status = 'republished'
    if offset >= 0 and offset <= wm then status = 'redelivered' end
    out[i] = status .. '|' .. seen
  else
    local st = load(key)
    local outcome
    if st == nil and not incoming and cancel_key == '' and not profile then
      -- A re-evaluation of an enterprise we have never seen changes nothing.
      outcome = '0|0|0|0|0|'
    else
      local old_class, old_due, asof, old_profile, contribs = 0, 0, 0, false, {}
      if st then
        old_class, old_due, asof, old_profile, contribs = st[3], st[5], st[2], st[6], st[7]
      end
      -- merge (index by key; the array keeps first-insertion order, which no number uses)
      local index = {}
      for j, c in ipairs(contribs) do index[c[1]] = j end
      if incoming then
        local j = index[incoming[1]]
        local c = {incoming[1], incoming[2], incoming[3], incoming[4], incoming[5],
                   incoming[6], incoming[7], incoming[8], 0, incoming[9]}
        if not j then
          contribs[#contribs + 1] = c
          index[c[1]] = #contribs
        else
          local old = contribs[j]
          if old[3] < 0 or c[3] > old[3] or (c[3] == old[3] and c[8] > old[8]) then
            c[9] = old[9]
            contribs[j] = c
          end
        end
      end
      if cancel_key ~= '' then
        local j = index[cancel_key]
        if not j then
          contribs[#contribs + 1] = {cancel_key, 1, -1, 0, 0, 0, 0, 0, 1, ''}
        else
          contribs[j][9] = 1
        end
      end
      if profile and (not old_profile or profile[5] > old_profile[5]
          or (profile[5] == old_profile[5] and profile[6] > old_profile[6])) then
        old_profile = profile
      end
      if event_asof > asof then asof = event_asof end
      outcome = settle(key, uscc, old_class, old_due, asof, old_profile, contribs)
    end
    redis.call('HSET', ledger, ehash, outcome)
    out[i] = 'applied|' .. outcome
  end
  -- A duplicate's effect is in Redis too: the watermark passes it either way. Written with
  -- the event, so that a batch cut short leaves the watermark true to what was applied.
  if offset > wm then
    wm = offset
    redis.call('HSET', meta, 'wm', wm)
  end
end
return out
