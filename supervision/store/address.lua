-- The rank of an enterprise in the cluster of one normalised address (supervision/store/addresses.py).
--
-- KEYS[1]  <prefix>:addr:{<address hash>}: hash uscc -> "<rank>|<event hash>"
-- ARGV[1]  the enterprise's USCC
-- ARGV[2]  the hash of the registration event that brings it there (scoring/changes.py)
--
-- Returns {"<rank>|<event hash>", new}: the enterprise's entry, assigned now (new = 1: rank
-- = the number of enterprises there, itself included) or before (new = 0: the same entry
-- again, whoever asks and however often). Entries are never removed, so ranks are 1..n.
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if entry then
  return {entry, 0}
end
entry = (redis.call('HLEN', KEYS[1]) + 1) .. '|' .. ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], entry)
return {entry, 1}
