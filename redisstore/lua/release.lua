-- RELEASE: end a lease. Expired leases are purged by the next ACQUIRE and
-- the whole set by its TTL.
-- KEYS: the sorted set of leases. ARGV: the lease's member.
-- Returns the number of leases removed.
return {redis.call('ZREM', KEYS[1], ARGV[1])}
