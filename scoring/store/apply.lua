-- riskmon: apply a batch of credit events of one Kafka partition, each exactly once, or
-- re-classify a batch of enterprises under new model parameters. One call, one Redis slot.
--
-- Mirrors scoring/fold.py line for line (the parity tests run both on the same events).
-- All keys share the partition hash tag {pNNN}, so the call is Redis-Cluster safe. One call
-- per batch, not per event: Redis and its client spend their time on events, not on commands.
--
-- KEYS[1]  ledger hash         <prefix>:l:{pNNN}   event hash (8 bytes) -> stored outcome,
--          or "" when the outcome warranted no alert or task (see NO_NEWS); with a ledger
--          window W, the name of W-offset buckets <prefix>:l:{pNNN}:<offset // W> instead
-- KEYS[2]  partition meta hash <prefix>:m:{pNNN}   wm = highest applied offset, A..D = counts
-- KEYS[3]  due sorted set      <prefix>:due:{pNNN} uscc -> next time-driven class change
-- KEYS[4..] state hashes       <prefix>:s:{pNNN}:<bucket>  uscc -> the enterprise; apply:
--          one per event, the bucket of its enterprise (scoring/store.py bucket_of);
--          reclassify: the one bucket to walk, then (KEYS[5], when alerts are wanted) the
--          partition's outbox hash <prefix>:o:{pNNN}. A state is one MessagePack array (one
--          value: as a hash of its own it would leave Redis' compact encoding and cost 3x):
--            {version id, asof, class 1..4, score (micro), due (0: none), profile or false,
--             contributions}
--          (version id: CRC-32 of the model version, whose name is in <prefix>:models)
--          contribution = {key, dimension, time, points, half_life, expires, floor,
--                          tiebreak, cancelled 0/1, ref}
--          profile      = {division, industry, new_economy 0/1, entity_type, time, tiebreak}
--          (ref and entity_type are a word's number in scoring/words.py, or the word; this
--          script only keeps them)
--
-- ARGV[1]  model parameters, space-separated: version id, thresholds b c d (micro), the five
--          dimension caps (micro), scheduling horizon (s), then the ledger window W in offsets
--          (0 or absent: one ledger hash, kept for ever). With W, the partition keeps the
--          buckets of the newest offset and the one before (W to 2W events, the newest in
--          meta's `lk`); a duplicate whose first copy was forgotten is applied again, which
--          changes no state (contributions merge by key, profile and asof only move forward)
-- ARGV[2]  "apply" or "reclassify"
-- ARGV[3]  apply: MessagePack array of events, in log order, event i for KEYS[3 + i]:
--            {uscc, event hash (8 bytes), offset (-1: not from Kafka), asof (s),
--             contribution without `cancelled` or false, key to cancel or "", profile or false}
--          reclassify: "force" to re-evaluate enterprises already under this version, or ""
-- ARGV[4], ARGV[5]  reclassify: HSCAN cursor and COUNT over KEYS[4]
--
-- apply returns one string per event: "status|old_class|new_class|score|asof|due|reasons_json"
-- (reasons last: they may contain "|"); status is "applied", "redelivered" (offset at or below
-- the watermark) or "republished" (same source+id seen at another offset). A duplicate returns
-- the outcome stored when it was first applied, so the caller re-sends the very same alert;
-- when that outcome warranted nothing (alerts/rules.py may_warrant: no class change, or a
-- new enterprise starting in A, and not in D), the ledger keeps only the event hash, and the
-- duplicate returns NO_NEWS.
--
-- reclassify re-evaluates the enterprises of one HSCAN page of KEYS[4], each at its own asof
-- under ARGV[1] (no ledger entry: it is a function of the state), skipping those already
-- evaluated under this model version; it returns {next cursor, enterprises scanned,
-- enterprises re-evaluated, then "uscc|old_class|new_class|score|asof|due|reasons_json" for
-- each whose class changed}. With an outbox, each such change is also kept there (uscc ->
-- "version id|old_class|..."), written with the state, until the caller has sent its alert and
-- deletes it: a run cut short between the two leaves the alert to be sent by the next run.
--
-- The events are decoded before the first write, and each event writes its state, ledger
-- entry, class counts and watermark together: a failure part-way leaves a consistent prefix of
-- the batch applied (Redis does not roll a script back), which the caller's retry completes
-- (duplicates change nothing).

local ledger, meta, dueset = KEYS[1], KEYS[2], KEYS[3]
local params = {}
for word in string.gmatch(ARGV[1], '%S+') do params[#params + 1] = word end
local version = tonumber(params[1])
local th = {tonumber(params[2]), tonumber(params[3]), tonumber(params[4])}
local caps = {tonumber(params[5]), tonumber(params[6]), tonumber(params[7]),
              tonumber(params[8]), tonumber(params[9])}
local horizon = tonumber(params[10])
local window = tonumber(params[11] or '0')
local mode = ARGV[2]
local names = {'A', 'B', 'C', 'D'}
-- The outcome of an event that changed nothing a reader is told about. Most events are such
-- (a first registration in A, a penalty that leaves the class where it was): storing "" for
-- them halves their ledger entries.
local NO_NEWS = '0|0|0|0|0|'

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

-- The class of score s (micro) with the highest active floor fl.
local function class_of(s, fl)
  local k = 1
  if s >= th[1] then k = 2 end
  if s >= th[2] then k = 3 end
  if s >= th[3] then k = 4 end
  if fl > k then k = fl end
  return k
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
  return class_of(s, fl), s
end

-- class_at, and how the score moves after t: the fading part of the score (micro-points of
-- live contributions with a half-life, in dimensions under their cap), its slope (micro-points
-- per second), and the next moment a live contribution expires (0: none), where it jumps.
local LN2 = math.log(2)
local function class_fade_at(contribs, t)
  local p1, p2, p3, p4, p5 = 0, 0, 0, 0, 0
  local f1, f2, f3, f4, f5 = 0, 0, 0, 0, 0
  local q1, q2, q3, q4, q5 = 0, 0, 0, 0, 0
  local fl, nexp = 0, 0
  for _, c in ipairs(contribs) do
    local v = current_micro(c, t)
    local d = c[2]
    local f, q = 0, 0
    local e = c[6]
    if e > t and c[9] ~= 1 and (nexp == 0 or e < nexp) then nexp = e end
    if v ~= 0 and c[5] ~= 0 and t >= c[3] then f = v; q = v * LN2 / c[5] end
    if d == 1 then p1 = p1 + v; f1 = f1 + f; q1 = q1 + q
    elseif d == 2 then p2 = p2 + v; f2 = f2 + f; q2 = q2 + q
    elseif d == 3 then p3 = p3 + v; f3 = f3 + f; q3 = q3 + q
    elseif d == 4 then p4 = p4 + v; f4 = f4 + f; q4 = q4 + q
    else p5 = p5 + v; f5 = f5 + f; q5 = q5 + q end
    if c[7] > fl and c[9] ~= 1 and not (c[6] ~= 0 and t >= c[6]) then fl = c[7] end
  end
  local s, fading, fall = 0, 0, 0
  if p1 < caps[1] then s = s + p1; fading = fading + f1; fall = fall + q1 else s = s + caps[1] end
  if p2 < caps[2] then s = s + p2; fading = fading + f2; fall = fall + q2 else s = s + caps[2] end
  if p3 < caps[3] then s = s + p3; fading = fading + f3; fall = fall + q3 else s = s + caps[3] end
  if p4 < caps[4] then s = s + p4; fading = fading + f4; fall = fall + q4 else s = s + caps[4] end
  if p5 < caps[5] then s = s + p5; fading = fading + f5; fall = fall + q5 else s = s + caps[5] end
  if s < 0 then s = 0 end
  return class_of(s, fl), s, fading, fall, nexp
end

-- The first second in (lo, hi] whose class is not k0, given that the class is k0 at lo, is
-- not at hi, and only falls in between (so that second is unique). fold.py finds it by
-- bisection, in about 27 evaluations. This one looks where the class can change first: where
-- the fading part reaches the threshold, if it were one exponential at its present rate, or
-- else the next expiry, whichever comes first. Fading points are a sum of exponentials, whose
-- logarithm is convex, so the first guess falls short (then it guesses again from there) or
-- is exact, unless a cap intervenes; an expiry is checked on both sides. Each guess is
-- evaluated, so the answer is the fold's; after 12 guesses, or a guess that overshot, it
-- bisects. Most searches take two to four evaluations. s, fading, fall and nexp are
-- class_fade_at's at lo, or s is false and they are evaluated here.
local function first_change(contribs, lo, hi, k0, s, fading, fall, nexp)
  local _
  if not s then _, s, fading, fall, nexp = class_fade_at(contribs, lo) end
  local target = th[k0 - 1] or math.huge
  local guess, steps = true, 0
  while hi - lo > 1 do
    local mid
    if guess and steps < 12 then
      local base = s - fading
      if fall > 0 and s >= target and target > base then
        mid = lo + math.ceil(fading / fall * math.log(fading / (target - base)))
      end
      if nexp > lo and nexp <= hi and (mid == nil or mid >= nexp) then
        mid = nexp - 1
        if mid == lo then mid = nexp end
      end
      if mid ~= nil and mid <= lo then mid = lo + 1 end
      if mid ~= nil and mid >= hi then mid = nil end
    end
    steps = steps + 1
    if mid == nil then mid = floor((lo + hi) / 2) end
    local k, ms, mfading, mfall, mnexp = class_fade_at(contribs, mid)
    if k == k0 then
      lo, s, fading, fall, nexp = mid, ms, mfading, mfall, mnexp
    else
      hi = mid
      if guess and mid - 1 > lo and class_at(contribs, mid - 1) == k0 then return mid end
      guess = false
    end
  end
  return hi
end

-- The first second after asof at which the class differs by time alone, 0 if never; s,
-- fading, fall and nexp are class_fade_at's at asof, where the search most often starts.
local function next_change(contribs, asof, k0, s, fading, fall, nexp)
  local credits, seen
  local last, fades = asof, false
  for _, c in ipairs(contribs) do
    if c[9] ~= 1 then
      if c[6] > asof then
        if c[6] > last then last = c[6] end
        if c[4] < 0 then
          if not credits then credits, seen = {}, {} end
          if not seen[c[6]] then
            seen[c[6]] = true
            credits[#credits + 1] = c[6]
          end
        end
      end
      if c[5] ~= 0 and c[4] > 0 then fades = true end
    end
  end
  -- In A, time can only change the class where a credit (negative points) ends: fading and
  -- expiring risk points only lower the score further, and A has no floor to lose.
  if k0 == 1 and not credits then return 0 end
  -- Between two moments a credit ends, the class can only fall: one search per stretch.
  -- In A it cannot fall, so only the moments credits end are looked at, and after the last
  -- one nothing can change (fold.py looks everywhere; the parity tests hold the two equal).
  local start = asof
  if credits then
    table.sort(credits)
    for _, e in ipairs(credits) do
      if k0 ~= 1 and class_at(contribs, e - 1) ~= k0 then
        return first_change(contribs, start, e - 1, k0, start == asof and s, fading, fall, nexp)
      end
      if class_at(contribs, e) ~= k0 then return e end
      start = e
    end
    if k0 == 1 then return 0 end
  end
  if class_at(contribs, last) ~= k0 then
    return first_change(contribs, start, last, k0, start == asof and s, fading, fall, nexp)
  end
  if not fades or class_at(contribs, last + horizon) == k0 then return 0 end
  return first_change(contribs, last, last + horizon, k0, last == asof and s, fading, fall, nexp)
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

-- The contributions that can still count at t or later: a cancelled one never counts again,
-- nor one expired by t. Everything settle evaluates is at its asof or later, so it evaluates
-- only these (fold.py evaluates all; the parity tests hold the two equal). A habitual
-- offender carries many spent ones: a third of the contributions a live event of the bench's
-- district falls on. The same table when none is spent.
local function live_from(contribs, t)
  local live
  for i, c in ipairs(contribs) do
    if c[9] == 1 or (c[6] ~= 0 and t >= c[6]) then
      if not live then
        live = {}
        for j = 1, i - 1 do live[j] = contribs[j] end
      end
    elseif live then
      live[#live + 1] = c
    end
  end
  return live or contribs
end

-- Evaluate at asof, store, keep the due index and class counts; the outcome string.
local function settle(key, uscc, old_class, old_due, asof, profile, contribs)
  local live = live_from(contribs, asof)
  local k, s, fading, fall, nexp = class_fade_at(live, asof)
  local due = next_change(live, asof, k, s, fading, fall, nexp)
  local reasons = ''
  if k ~= old_class then
    reasons = top_reasons(live, asof)
    redis.call('HINCRBY', meta, names[k], 1)
    if old_class > 0 then redis.call('HINCRBY', meta, names[old_class], -1) end
  end
  redis.call('HSET', key, uscc, cmsgpack.pack({version, asof, k, s, due, profile, contribs}))
  if due > 0 then
    if due ~= old_due then redis.call('ZADD', dueset, due, uscc) end
  elseif old_due > 0 then
    redis.call('ZREM', dueset, uscc)
  end
  return string.format('%d|%d|%d|%d|%d|', old_class, k, s, asof, due) .. reasons, k ~= old_class, k
end

-- Reclassify --------------------------------------------------------------------------------

if mode == 'reclassify' then
  -- Writing the value of a field HSCAN returned neither adds nor removes a field, so the
  -- scan still returns every field of the hash.
  local key, force, outbox = KEYS[4], ARGV[3] == 'force', KEYS[5]
  local page = redis.call('HSCAN', key, ARGV[4], 'COUNT', ARGV[5])
  local pairs_ = page[2]
  local out = {page[1], #pairs_ / 2, 0}
  for j = 1, #pairs_, 2 do
    local uscc = pairs_[j]
    local st = cmsgpack.unpack(pairs_[j + 1])
    if force or st[1] ~= version then
      out[3] = out[3] + 1
      local outcome, changed = settle(key, uscc, st[3], st[5], st[2], st[6], st[7])
      if changed then
        out[#out + 1] = uscc .. '|' .. outcome
        if outbox then redis.call('HSET', outbox, uscc, version .. '|' .. outcome) end
      end
    end
  end
  return out
end

-- Apply -------------------------------------------------------------------------------------

local events = cmsgpack.unpack(ARGV[3])
local wm = tonumber(redis.call('HGET', meta, 'wm') or '-1')
local out = {}
local lk = -1
if window > 0 then lk = tonumber(redis.call('HGET', meta, 'lk') or '-1') end

-- The ledger hash an event's entry goes to (false: older than the window, not recorded), and
-- its first copy, if remembered. Reaching a new bucket forgets those more than one behind.
local function ledger_lookup(ehash, offset)
  if window == 0 then return ledger, redis.call('HGET', ledger, ehash) end
  local k = math.max(lk, 0)
  if offset >= 0 then k = math.floor(offset / window) end
  if k > lk then
    for old = math.max(lk - 1, 0), math.min(lk, k - 2) do
      redis.call('UNLINK', ledger .. ':' .. old)
    end
    lk = k
    redis.call('HSET', meta, 'lk', lk)
  end
  local seen = redis.call('HGET', ledger .. ':' .. lk, ehash)
  if not seen and lk > 0 then seen = redis.call('HGET', ledger .. ':' .. (lk - 1), ehash) end
  if k < lk - 1 then return false, seen end
  return ledger .. ':' .. k, seen
end

for i, ev in ipairs(events) do
  local key, uscc, ehash, offset, event_asof = KEYS[3 + i], ev[1], ev[2], ev[3], ev[4]
  local incoming, cancel_key, profile = ev[5], ev[6], ev[7]
  local into, seen = ledger_lookup(ehash, offset)
  if seen then
    local status = 'republished'
    if offset >= 0 and offset <= wm then status = 'redelivered' end
    if seen == '' then seen = NO_NEWS end
    out[i] = status .. '|' .. seen
  else
    local raw = redis.call('HGET', key, uscc)
    local st = raw and cmsgpack.unpack(raw)
    -- (A re-evaluation of an enterprise we have never seen changes nothing: NO_NEWS.)
    local outcome, news = NO_NEWS, false
    if st or incoming or cancel_key ~= '' or profile then
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
      local changed, k
      outcome, changed, k = settle(key, uscc, old_class, old_due, asof, old_profile, contribs)
      -- alerts/rules.py may_warrant: a new enterprise starting in A is no news
      news = k == 4 or (changed and not (old_class == 0 and k == 1))
    end
    if into then redis.call('HSET', into, ehash, news and outcome or '') end
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
