-- riskmon: apply a batch of credit events of one Kafka partition, each exactly once, with the
-- time-driven class changes they bring about, or re-classify a page of enterprises under new
-- model parameters. One call, one Redis slot.
--
-- scoring/fold.py (one enterprise) and scoring/partition.py (a partition's log in event time:
-- which time-driven changes each event makes) are the specification; this script implements
-- them: the same integer micro-point arithmetic, tie-breaks, classes, due times, event-time
-- watermark and firing order. The parity tests (tests/integration/test_store.py,
-- test_reclassify.py) run both on the same logs and states and require the same outcomes,
-- fired changes, watermarks and states. It departs from fold.py in three places,
-- each to do less work, none to compute otherwise:
--   1. first_change guesses where the class changes (where the fading points would reach the
--      threshold, or the next expiry) and bisects only once guessing fails; fold.py bisects.
--      Safe: the class changes once in the interval searched, so each guess, evaluated as
--      fold.py evaluates, narrows the interval as a bisection step does, and the search ends
--      where bisection ends: at the one second where the class first differs.
--   2. next_change, for an enterprise in A, looks only at the moments credits end, and after
--      the last one answers "never"; fold.py looks on. Safe: in A, fading and expiring risk
--      points only lower the score further and A has no floor to lose, so only the end of a
--      credit (negative points) can change the class.
--   3. settle evaluates only the contributions that can still count at asof (live_from);
--      fold.py evaluates all. Safe: a cancelled contribution, or one expired by asof, counts
--      0 points and sets no floor at asof or later, and settle evaluates nothing before asof.
-- It departs from partition.py in one: partition.py keeps a heap of (due, uscc) with stale
-- entries skipped; this script reads the due index (a sorted set: the same order, due then
-- USCC bytes) and caches its smallest score in a local, so that an event that fires nothing
-- costs a comparison. Safe: every write to the index that lowers it lowers the cache too,
-- and a cache left too low (a ZREM, a due moved later) only costs a re-read.
-- The ledger, the offset watermark, the class counts, the area counts and the due index are
-- the store's bookkeeping, which fold.py has no part in; the event-time watermark is
-- partition.py's.
--
-- Area counts (docs/areas.md; scoring/store/areas.py recount() is their specification: the
-- counts are always that function of the stored states, whatever the order of the events).
-- Wherever settle writes a state (apply, fire, reclassify), it moves the enterprise's counts
-- when its class or its profile's division or industry changed, and only then: per division
-- ('unknown' before its first profile), industry (section + two-digit division, e.g. 'F51';
-- 'unknown') and class, one field '<division>|<industry>|<class>' in '<prefix>:a:{pNNN}';
-- each division's enterprises in C and D in the zset '<prefix>:ax:{pNNN}'; and, when the
-- class changes to C or D, one entry on the day (UTC+8) of the change in
-- '<prefix>:ae:{pNNN}:<day>', under the profile the state has then (an entry is a flow: it
-- stays where it was counted when a profile arrives or changes later). These key names are
-- derived from KEYS[2]'s (same prefix, same hash tag), not passed.
--
-- KEYS: names, and what each holds, in scoring/store/keys.py; all of one partition.
-- KEYS[1]  the ledger hash (with a ledger window W: the stem of its buckets' names, ':<n>' on)
-- KEYS[2]  the meta hash ('<prefix>:m:{pNNN}'); KEYS[3] the due index
-- KEYS[4..] apply: the state hash of each event's enterprise, event i's at KEYS[3 + i];
--          reclassify: the state hash to walk, then (KEYS[5], if alerts are wanted) the outbox
--
-- ARGV[1]  the model (PARAM_* below). With a ledger window W, the partition keeps the ledger
--          buckets of the newest offset and the one before (W to 2W events); a duplicate
--          whose first copy was forgotten is applied again, which changes no state
--          (contributions merge by key, profile and asof only move forward)
-- ARGV[2]  "apply" or "reclassify"
-- ARGV[3]  apply: MessagePack array of EVENTs (below), in log order;
--          reclassify: "force" to re-evaluate enterprises already under this version, or ""
-- ARGV[4]  apply: the stem of the partition's state hashes' names, '<prefix>:s:{pNNN}:' (an
--          enterprise's hash is the stem and its bucket, CRC-32 of the USCC mod 64, as
--          scoring/store/keys.py bucket_of); absent, it is taken from KEYS[4] (redis-benchmark
--          can only pass the events last). A fired enterprise's hash is not in KEYS: the
--          stem names it, in the same slot.
-- ARGV[5]  apply: the highest Kafka offset among the events (the caller's, for its fence)
-- ARGV[6]  apply: the fence, the lowest offset watermark this partition must have: what Redis
--          already acknowledged to this caller (absent or -1: none). A watermark below it means
--          Redis lost acknowledged writes (a failover to a lagging replica, a restart from an
--          AOF missing its tail): the call is refused with an error starting LOSTWRITES, and
--          nothing is applied, so the caller can stop and re-read from the watermark.
-- ARGV[4], ARGV[5]  reclassify: HSCAN cursor and COUNT over KEYS[4]
--
-- apply returns one reply per event: the string "status|old_class|new_class|score|asof|due|
-- reasons_json" (reasons last: they may contain "|"; [[key, micro-points, floor], ...];
-- parsed by scoring/store/replies.py) when the event fired nothing, else an array of that
-- string and then "uscc|outcome" for each time-driven change it fired, in order (its asof is
-- the due moment). status is "applied", "redelivered" (offset at or below the offset
-- watermark) or "republished" (same source+id seen at another offset). A duplicate returns
-- what was stored when it was first applied, fired changes included, so the caller re-sends
-- the very same alerts; when its own outcome warranted nothing (alerts/rules.py may_warrant:
-- no class change, or a new enterprise starting in A, and not in D), the ledger keeps it
-- without its reasons (bare), and the duplicate returns that: classes, score, asof and due,
-- which supervision's early warnings need when a worker died between the two writes
-- (docs/warnings.md). An entry "" (written before) returns NO_NEWS. A duplicate fires nothing
-- and leaves the event-time watermark alone: its first copy did both.
--
-- Event time (scoring/partition.py): the meta hash's `ew` is the latest event time (s) among
-- the events applied, in log order. An event whose asof is past it raises it, and then every
-- enterprise whose due moment is at or before ew - lateness is re-evaluated at its due
-- moment, in order of due, then USCC (fire); then the event is applied; then fire again (only
-- the event's own enterprise can be due). The ledger entry of an event that fired something
-- is a MessagePack array {own outcome or "", "uscc|outcome", ...}: its first byte is 0x90 or
-- more, never a digit as an outcome's is, so entries written before read as they were.
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
-- entry, class and area counts and watermark together: a failure part-way leaves a consistent prefix of
-- the batch applied (Redis does not roll a script back), which the caller's retry completes
-- (duplicates change nothing).

-- The wire layout: the position of each field of what Python passes and of a stored state
-- (MessagePack arrays). Its other statement is scoring/store/wire.py, which encodes them;
-- change the two together, and remember that states in Redis hold the old layout.
-- (scoring/store/script.py writes these numbers into the script where the names are used
-- before Redis sees it: a constant read by name would cost an instruction per use.)
--
-- ARGV[1], the model: version id (CRC-32 of its name), thresholds of B, C and D and the five
-- dimension caps (micro-points), scheduling horizon (s), ledger window W in offsets (0 or
-- absent: one ledger hash, kept for ever), allowed lateness (s; absent: 0)
local PARAM_VERSION, PARAM_THRESHOLDS, PARAM_CAPS, PARAM_HORIZON, PARAM_WINDOW = 1, 2, 5, 10, 11
local PARAM_LATENESS = 12
-- An EVENT of ARGV[3]: uscc, ledger field (the event hash's 8 bytes), Kafka offset (-1: not
-- from Kafka), asof (s), contribution (an INCOMING one) or false, key to cancel or "",
-- PROFILE or false
local EV_USCC, EV_HASH, EV_OFFSET, EV_ASOF, EV_CONTRIBUTION, EV_CANCEL, EV_PROFILE =
  1, 2, 3, 4, 5, 6, 7
-- A STATE: version id, asof (s), class 1..4, score (micro), due (s; 0: none), PROFILE or false,
-- CONTRIBUTIONs. One array, not a hash: a hash of its own would leave Redis' compact encoding.
local ST_VERSION, ST_ASOF, ST_CLASS, ST_SCORE, ST_DUE, ST_PROFILE, ST_CONTRIBUTIONS =
  1, 2, 3, 4, 5, 6, 7
-- A CONTRIBUTION: key, dimension 1..5, time (s), points, half-life (s; 0: none), expires (s;
-- 0: never), floor (minimum class; 0: none), tiebreak, cancelled 0/1, ref. An INCOMING one
-- has no `cancelled`: its ref is at C_CANCELLED (see merge).
local C_KEY, C_DIMENSION, C_TIME, C_POINTS, C_HALF_LIFE, C_EXPIRES, C_FLOOR, C_TIEBREAK =
  1, 2, 3, 4, 5, 6, 7, 8
local C_CANCELLED, C_REF = 9, 10
-- A PROFILE: division, industry, new economy 0/1, entity type, time (s), tiebreak.
-- (ref and entity type are a word's number in scoring/words.py, or the word: kept, not read.)
local PROFILE_DIVISION, PROFILE_INDUSTRY, PROFILE_TIME, PROFILE_TIEBREAK = 1, 2, 5, 6

local ledger, meta, dueset = KEYS[1], KEYS[2], KEYS[3]
local params = {}
for word in string.gmatch(ARGV[1], '%S+') do params[#params + 1] = word end
local version = tonumber(params[PARAM_VERSION])
local th, caps = {}, {}
for i = 1, 3 do th[i] = tonumber(params[PARAM_THRESHOLDS + i - 1]) end
for i = 1, 5 do caps[i] = tonumber(params[PARAM_CAPS + i - 1]) end
local horizon = tonumber(params[PARAM_HORIZON])
local window = tonumber(params[PARAM_WINDOW] or '0')
local lateness = tonumber(params[PARAM_LATENESS] or '0')
local mode = ARGV[2]
-- The class names by number, as meta's count fields (schemas/classes.py CLASSES).
local names = {'A', 'B', 'C', 'D'}
-- The outcome of an event that changed nothing a reader is told about. Most events are such
-- (a first registration in A, a penalty that leaves the class where it was): the ledger
-- stores "" for them, and a duplicate of one gets this.
local NO_NEWS = '0|0|0|0|0|'
-- An outcome without its reasons (they follow the fifth "|"): what the ledger keeps of an
-- outcome that warranted nothing.
local function bare(outcome)
  return string.match(outcome, '^[^|]*|[^|]*|[^|]*|[^|]*|[^|]*|')
end

-- Evaluation (integer micro-points; see fold.py) -------------------------------------------
-- (math functions as locals: the bisection calls class_at some 30 times per enterprise, and
-- a global lookup per call is measurable there)

local floor, min, ipairs = math.floor, math.min, ipairs

local function current_micro(c, t)
  if c[C_CANCELLED] == 1 or (c[C_EXPIRES] ~= 0 and t >= c[C_EXPIRES]) then return 0 end
  local v = c[C_POINTS]
  if c[C_HALF_LIFE] ~= 0 then
    local age = 0
    if t > c[C_TIME] then age = t - c[C_TIME] end
    v = v * 2 ^ (-age / c[C_HALF_LIFE])
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
    local d = c[C_DIMENSION]
    if d == 1 then p1 = p1 + v elseif d == 2 then p2 = p2 + v elseif d == 3 then p3 = p3 + v
    elseif d == 4 then p4 = p4 + v else p5 = p5 + v end
    if c[C_FLOOR] > fl and c[C_CANCELLED] ~= 1
        and not (c[C_EXPIRES] ~= 0 and t >= c[C_EXPIRES]) then
      fl = c[C_FLOOR]
    end
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
    local d = c[C_DIMENSION]
    local f, q = 0, 0
    local e = c[C_EXPIRES]
    if e > t and c[C_CANCELLED] ~= 1 and (nexp == 0 or e < nexp) then nexp = e end
    if v ~= 0 and c[C_HALF_LIFE] ~= 0 and t >= c[C_TIME] then
      f = v; q = v * LN2 / c[C_HALF_LIFE]
    end
    if d == 1 then p1 = p1 + v; f1 = f1 + f; q1 = q1 + q
    elseif d == 2 then p2 = p2 + v; f2 = f2 + f; q2 = q2 + q
    elseif d == 3 then p3 = p3 + v; f3 = f3 + f; q3 = q3 + q
    elseif d == 4 then p4 = p4 + v; f4 = f4 + f; q4 = q4 + q
    else p5 = p5 + v; f5 = f5 + f; q5 = q5 + q end
    if c[C_FLOOR] > fl and c[C_CANCELLED] ~= 1
        and not (c[C_EXPIRES] ~= 0 and t >= c[C_EXPIRES]) then
      fl = c[C_FLOOR]
    end
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
-- not at hi, and only falls in between (so that second is unique). fold.py bisects, in about
-- 27 evaluations (departure 1 in the header); this one looks where the class can change
-- first: where the fading part reaches the threshold, if it were one exponential at its
-- present rate, or else the next expiry, whichever comes first. Fading points are a sum of
-- exponentials, whose logarithm is convex, so the first guess falls short (then it guesses
-- again from there) or is exact, unless a cap intervenes; an expiry is checked on both sides.
-- Each guess is evaluated, so the answer is the fold's; after 12 guesses, or a guess that
-- overshot, it bisects. Most searches take a few evaluations. s, fading, fall and nexp are
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
    if c[C_CANCELLED] ~= 1 then
      if c[C_EXPIRES] > asof then
        if c[C_EXPIRES] > last then last = c[C_EXPIRES] end
        if c[C_POINTS] < 0 then
          if not credits then credits, seen = {}, {} end
          if not seen[c[C_EXPIRES]] then
            seen[c[C_EXPIRES]] = true
            credits[#credits + 1] = c[C_EXPIRES]
          end
        end
      end
      if c[C_HALF_LIFE] ~= 0 and c[C_POINTS] > 0 then fades = true end
    end
  end
  -- In A, time can only change the class where a credit (negative points) ends: fading and
  -- expiring risk points only lower the score further, and A has no floor to lose.
  if k0 == 1 and not credits then return 0 end
  -- Between two moments a credit ends, the class can only fall: one search per stretch.
  -- In A it cannot fall, so only the moments credits end are looked at, and after the last
  -- one nothing can change (departure 2 in the header).
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
    local active_floor = c[C_FLOOR] ~= 0 and c[C_CANCELLED] ~= 1
      and not (c[C_EXPIRES] ~= 0 and asof >= c[C_EXPIRES])
    if v > 0 or active_floor then live[#live + 1] = {c, v} end
  end
  -- (each entry of live: {contribution, its micro-points at asof})
  table.sort(live, function(x, y)
    local cx, cy = x[1], y[1]
    if cx[C_FLOOR] ~= cy[C_FLOOR] then return cx[C_FLOOR] > cy[C_FLOOR] end
    if x[2] ~= y[2] then return x[2] > y[2] end
    if cx[C_TIME] ~= cy[C_TIME] then return cx[C_TIME] > cy[C_TIME] end
    return cx[C_TIEBREAK] > cy[C_TIEBREAK]
  end)
  local top = {}
  for i = 1, math.min(3, #live) do
    top[i] = {live[i][1][C_KEY], live[i][2], live[i][1][C_FLOOR]}
  end
  if #top == 0 then return '' end
  return cjson.encode(top)
end

-- The contributions that can still count at t or later: a cancelled one never counts again,
-- nor one expired by t. Everything settle evaluates is at its asof or later, so it evaluates
-- only these (departure 3 in the header). A habitual offender carries many spent ones. The
-- same table when none is spent.
local function live_from(contribs, t)
  local live
  for i, c in ipairs(contribs) do
    if c[C_CANCELLED] == 1 or (c[C_EXPIRES] ~= 0 and t >= c[C_EXPIRES]) then
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

-- The smallest score of the due index as far as this call knows (false: not read yet; a
-- ZADD below it lowers it, so it is never above the index's smallest; see fire).
local least_due = false

-- Area counts (scoring/store/areas.py is their Python statement, and keys.py their layout).
-- The area keys share the meta hash's prefix and hash tag: '<prefix>:a:{pNNN}' (enterprises
-- per division, industry and class), '<prefix>:ae:{pNNN}:<day>' (entries into C and D that
-- day) and '<prefix>:ax:{pNNN}' (each division's enterprises in C and D, for paging).
local area_pre, area_tag = string.match(meta, '^(.*):m:(%b{})$')
-- (a meta name of another shape, as a test may pass: the area keys hang off it, same slot)
if not area_pre then area_pre, area_tag = meta, '' end
local areas_key = area_pre .. ':a:' .. area_tag
local area_index = area_pre .. ':ax:' .. area_tag
local area_day_stem = area_pre .. ':ae:' .. area_tag .. ':'
-- A day is a calendar day in China Standard Time (UTC+8, the district's): day n starts at
-- n * 86400 - 28800 (Unix s).
local DAY_SHIFT = 28800

-- The division (text; 'unknown' without one) and the industry an enterprise counts under:
-- its code's section and two-digit division ('F5191' -> 'F51'), a bare section as it is, or
-- 'unknown'. One field per (division, industry) pair: a class change costs one HINCRBY a
-- side, and readers sum the pairs into divisions, industries and sections.
local function area_codes(profile)
  local div, ind = 'unknown', 'unknown'
  if profile then
    local d, i = profile[PROFILE_DIVISION], profile[PROFILE_INDUSTRY]
    if d and d ~= '' then div = tostring(d) end
    if type(i) == 'string' and i ~= '' then
      if #i >= 3 then ind = string.sub(i, 1, 3) else ind = string.sub(i, 1, 1) end
    end
  end
  return div, ind
end

-- Move an enterprise's area counts from (old_class, old_profile) to (k, profile), and count
-- its entry into C or D on the day of asof. Costs a comparison when neither the class nor the
-- division or industry changed.
local function move_areas(uscc, old_class, old_profile, k, profile, asof)
  if k == old_class and old_profile == profile then return end
  local div, ind = area_codes(profile)
  local odiv, oind = div, ind
  if old_profile ~= profile then
    odiv, oind = area_codes(old_profile)
    if k == old_class and div == odiv and ind == oind then return end
  end
  if old_class > 0 then
    local old_name = names[old_class]
    local f = odiv .. '|' .. oind .. '|' .. old_name
    if redis.call('HINCRBY', areas_key, f, -1) == 0 then redis.call('HDEL', areas_key, f) end
    if old_class >= 3 then redis.call('ZREM', area_index, odiv .. '|' .. uscc .. '|' .. old_name) end
  end
  local name = names[k]
  redis.call('HINCRBY', areas_key, div .. '|' .. ind .. '|' .. name, 1)
  if k >= 3 then
    redis.call('ZADD', area_index, 0, div .. '|' .. uscc .. '|' .. name)
    if k ~= old_class then
      redis.call('HINCRBY', area_day_stem .. floor((asof + DAY_SHIFT) / 86400),
        div .. '|' .. ind .. '|' .. name, 1)
    end
  end
end

-- Evaluate at asof, store, keep the due index, class counts and area counts; the outcome
-- string. old_profile: the profile the stored state had (nil: profile, unchanged).
local function settle(key, uscc, old_class, old_due, asof, profile, contribs, old_profile)
  local live = live_from(contribs, asof)
  local k, s, fading, fall, nexp = class_fade_at(live, asof)
  local due = next_change(live, asof, k, s, fading, fall, nexp)
  local reasons = ''
  if k ~= old_class then
    reasons = top_reasons(live, asof)
    redis.call('HINCRBY', meta, names[k], 1)
    if old_class > 0 then redis.call('HINCRBY', meta, names[old_class], -1) end
  end
  if old_profile == nil then old_profile = profile end
  move_areas(uscc, old_class, old_profile, k, profile, asof)
  -- A STATE, in its order.
  redis.call('HSET', key, uscc, cmsgpack.pack({version, asof, k, s, due, profile, contribs}))
  if due > 0 then
    if due ~= old_due then
      redis.call('ZADD', dueset, due, uscc)
      if least_due and due < least_due then least_due = due end
    end
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
    if force or st[ST_VERSION] ~= version then
      out[3] = out[3] + 1
      local outcome, changed = settle(key, uscc, st[ST_CLASS], st[ST_DUE], st[ST_ASOF],
        st[ST_PROFILE], st[ST_CONTRIBUTIONS])
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
-- (one read of the meta hash: the offset watermark, the newest ledger bucket, the event-time
-- watermark)
local head = redis.call('HMGET', meta, 'wm', 'lk', 'ew')
local wm, ew = tonumber(head[1] or '-1'), tonumber(head[3] or '0')
local fence = tonumber(ARGV[6] or '-1')
if wm < fence then
  return redis.error_reply('LOSTWRITES offset watermark ' .. wm .. ' of ' .. meta ..
    ' is below ' .. fence .. ', which Redis acknowledged: re-read from ' .. (wm + 1))
end
local out = {}
local lk = -1
if window > 0 then lk = tonumber(head[2] or '-1') end

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

-- CRC-32 (IEEE, as zlib.crc32) of s, with the bit library; its table built on first use.
local crc_table
local function crc32(s)
  local band, bxor, rshift = bit.band, bit.bxor, bit.rshift
  if not crc_table then
    crc_table = {}
    for i = 0, 255 do
      local c = i
      for _ = 1, 8 do
        if band(c, 1) ~= 0 then c = bxor(rshift(c, 1), 0xEDB88320) else c = rshift(c, 1) end
      end
      crc_table[i] = c
    end
  end
  local crc = 0xFFFFFFFF
  for i = 1, #s do
    crc = bxor(rshift(crc, 8), crc_table[band(bxor(crc, s:byte(i)), 255)])
  end
  return bit.bnot(crc)
end
-- The stem of the state hashes' names (ARGV[4], or KEYS[4] less its bucket).
local stem = ARGV[4] or string.match(KEYS[4] or '', '^(.*:)%d+$')

-- Re-evaluate, at its due moment, every enterprise due at or before limit, in the due index's
-- order (due, then USCC bytes), appending "uscc|outcome" to fired (created if need be); each
-- change may schedule the next. Without anything due, a comparison with the cached least_due.
local function fire(limit, fired)
  if least_due and least_due > limit then return fired end
  while true do
    local first = redis.call('ZRANGE', dueset, 0, 0, 'WITHSCORES')
    if #first == 0 then
      least_due = math.huge
      return fired
    end
    local due = tonumber(first[2])
    least_due = due
    if due > limit then return fired end
    local uscc = first[1]
    local key = stem .. bit.band(crc32(uscc), 63)
    local raw = redis.call('HGET', key, uscc)
    if not raw then
      error('riskmon: ' .. uscc .. ' is in the due index ' .. dueset .. ' but has no state in '
        .. key)
    end
    local st = cmsgpack.unpack(raw)
    local asof = st[ST_ASOF]
    if due > asof then asof = due end
    local outcome = settle(key, uscc, st[ST_CLASS], st[ST_DUE], asof, st[ST_PROFILE],
      st[ST_CONTRIBUTIONS])
    fired = fired or {}
    fired[#fired + 1] = uscc .. '|' .. outcome
  end
end

for i, ev in ipairs(events) do
  local key, uscc, ehash, offset = KEYS[3 + i], ev[EV_USCC], ev[EV_HASH], ev[EV_OFFSET]
  local event_asof = ev[EV_ASOF]
  local incoming, cancel_key, profile = ev[EV_CONTRIBUTION], ev[EV_CANCEL], ev[EV_PROFILE]
  local into, seen = ledger_lookup(ehash, offset)
  local raised = false
  if seen then
    local status = 'republished'
    if offset >= 0 and offset <= wm then status = 'redelivered' end
    if seen == '' then
      out[i] = status .. '|' .. NO_NEWS
    elseif seen:byte(1) >= 0x90 then
      -- {own outcome or "", "uscc|outcome", ...}: the event fired time-driven changes
      local entry = cmsgpack.unpack(seen)
      if entry[1] == '' then entry[1] = NO_NEWS end
      entry[1] = status .. '|' .. entry[1]
      out[i] = entry
    else
      out[i] = status .. '|' .. seen
    end
  else
    local fired
    if event_asof > ew then
      ew, raised = event_asof, true
      fired = fire(ew - lateness, fired)
    end
    local raw = redis.call('HGET', key, uscc)
    local st = raw and cmsgpack.unpack(raw)
    -- (A re-evaluation of an enterprise we have never seen changes nothing: NO_NEWS.)
    local outcome, news = NO_NEWS, false
    if st or incoming or cancel_key ~= '' or profile then
      local old_class, old_due, asof, old_profile, contribs = 0, 0, 0, false, {}
      if st then
        old_class, old_due, asof = st[ST_CLASS], st[ST_DUE], st[ST_ASOF]
        old_profile, contribs = st[ST_PROFILE], st[ST_CONTRIBUTIONS]
      end
      -- merge (index by key; the array keeps first-insertion order, which no number uses)
      local index = {}
      for j, c in ipairs(contribs) do index[c[C_KEY]] = j end
      if incoming then
        local j = index[incoming[C_KEY]]
        -- Stored: the incoming fields up to C_TIEBREAK, not cancelled, then the ref (which
        -- the incoming one has at C_CANCELLED). A constructor, in CONTRIBUTION's order.
        local c = {incoming[C_KEY], incoming[C_DIMENSION], incoming[C_TIME], incoming[C_POINTS],
                   incoming[C_HALF_LIFE], incoming[C_EXPIRES], incoming[C_FLOOR],
                   incoming[C_TIEBREAK], 0, incoming[C_CANCELLED]}
        if not j then
          contribs[#contribs + 1] = c
          index[c[C_KEY]] = #contribs
        else
          local old = contribs[j]
          if old[C_TIME] < 0 or c[C_TIME] > old[C_TIME]
              or (c[C_TIME] == old[C_TIME] and c[C_TIEBREAK] > old[C_TIEBREAK]) then
            c[C_CANCELLED] = old[C_CANCELLED]
            contribs[j] = c
          end
        end
      end
      if cancel_key ~= '' then
        local j = index[cancel_key]
        if not j then
          -- A cancel that arrives first: a placeholder (time -1) any contribution replaces,
          -- in CONTRIBUTION's order.
          contribs[#contribs + 1] = {cancel_key, 1, -1, 0, 0, 0, 0, 0, 1, ''}
        else
          contribs[j][C_CANCELLED] = 1
        end
      end
      local stored_profile = old_profile
      if profile and (not old_profile or profile[PROFILE_TIME] > old_profile[PROFILE_TIME]
          or (profile[PROFILE_TIME] == old_profile[PROFILE_TIME]
          and profile[PROFILE_TIEBREAK] > old_profile[PROFILE_TIEBREAK])) then
        old_profile = profile
      end
      if event_asof > asof then asof = event_asof end
      local changed, k
      outcome, changed, k = settle(key, uscc, old_class, old_due, asof, old_profile, contribs,
        stored_profile)
      -- alerts/rules.py may_warrant: a new enterprise starting in A is no news
      news = k == 4 or (changed and not (old_class == 0 and k == 1))
    end
    fired = fire(ew - lateness, fired)
    local own = 'applied|' .. outcome
    if fired then
      if into then
        local entry = {news and outcome or bare(outcome)}
        for j = 1, #fired do entry[j + 1] = fired[j] end
        redis.call('HSET', into, ehash, cmsgpack.pack(entry))
      end
      table.insert(fired, 1, own)
      out[i] = fired
    else
      if into then redis.call('HSET', into, ehash, news and outcome or bare(outcome)) end
      out[i] = own
    end
  end
  -- A duplicate's effect is in Redis too: the offset watermark passes it either way. Written
  -- with the event (the event-time watermark too, in the same command), so that a batch cut
  -- short leaves both true to what was applied.
  if offset > wm then
    wm = offset
    if raised then
      redis.call('HSET', meta, 'wm', wm, 'ew', ew)
    else
      redis.call('HSET', meta, 'wm', wm)
    end
  elseif raised then
    redis.call('HSET', meta, 'ew', ew)
  end
end
return out
