import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/*
 * Every decision about shared state runs inside Redis as one Lua script: atomic, on server time (TIME), and
 * guarded by the state's generation. Per-breaker scripts get KEYS = ns, log, state, fails, reporters, probe
 * slot 1..n (all in the namespace's slot) and ARGV = name, channel, ttl, then their own arguments.
 *
 * Replies are arrays of strings: { verdict, state, gen, remaining, ... } where `remaining` is the ms left in
 * OPEN measured on the server at reply time (clients add it to their own clock: no skew can leak in).
 * Every transition also bumps the namespace version (ns hash: epoch, seq) and records the breaker's name in
 * the log under the new seq, so a reader learns with one HMGET whether anything changed, and what.
 * Published messages: "kind|epoch|seq|gen|state|remaining|origin|name" with kind "t" (transition, seq is the
 * new one) or "f" (probe slot freed, seq unchanged), on the namespace's one channel (SPUBLISH where the
 * server has it, PUBLISH otherwise: the subscriber makes the same choice against the same server).
 */

/** Most names the change log keeps; a reader further behind than that re-reads its breakers in full. */
const LOG_MAX = 10_000;

const PUBLISH = `
local function publish(kind, seq, rem, origin)
  local msg = kind .. '|' .. epoch .. '|' .. string.format('%d', seq) .. '|' .. string.format('%d', gen) .. '|' ..
    st .. '|' .. string.format('%d', rem) .. '|' .. origin .. '|' .. ARGV[1]
  local ok = redis.pcall('SPUBLISH', ARGV[2], msg)
  if type(ok) == 'table' and ok.err then redis.call('PUBLISH', ARGV[2], msg) end
end
`;

// Reads TIME, the namespace version and the breaker's state; defines apply() (a transition, published).
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = redis.call('HMGET', KEYS[3], 'state', 'gen', 'until')
local st = cur[1] or 'closed'
local gen = tonumber(cur[2]) or 0
local untilAt = tonumber(cur[3]) or 0
local ttl = tonumber(ARGV[3])
local ver = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
local epoch = ver[1] or ''
local seq = tonumber(ver[2]) or 0
local function fmt(x) return string.format('%d', x) end
local function remaining()
  if st == 'open' then return untilAt - now end
  return 0
end
local function reply(verdict) return { verdict, st, fmt(gen), fmt(remaining()) } end
${PUBLISH}
-- Generations only grow, even if the key expired or the server restarted empty (no ABA on the CAS).
local function apply(newState, rem, origin)
  gen = math.max(gen + 1, now)
  st = newState
  rem = math.max(0, rem)
  if st == 'open' then untilAt = now + rem else untilAt = 0; rem = 0 end
  redis.call('HSET', KEYS[3], 'state', st, 'gen', fmt(gen), 'until', fmt(untilAt), 'by', origin)
  redis.call('PEXPIRE', KEYS[3], ttl + rem)
  for i = 4, #KEYS do redis.call('DEL', KEYS[i]) end
  if epoch == '' then epoch = fmt(now) end
  seq = seq + 1
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', fmt(seq))
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('ZADD', KEYS[2], seq, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], ttl)
  if redis.call('ZCARD', KEYS[2]) > ${LOG_MAX} then
    local dropped = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, 0)
    redis.call('HSET', KEYS[1], 'floor', dropped[2])
  end
  publish('t', seq, rem, origin)
end
`;

/**
 * KEYS: ns, then state keys. ARGV: ttl. The namespace version and every given breaker's state in one
 * atomic read; keeps a live key from expiring while anyone still uses it.
 * Reply: epoch ('' = none yet), seq, then state, gen, remaining per key.
 */
const READ_MANY = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
local ver = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
local out = { ver[1] or '', ver[2] or '0' }
for i = 2, #KEYS do
  local cur = redis.call('HMGET', KEYS[i], 'state', 'gen', 'until')
  local st = cur[1] or 'closed'
  local gen = tonumber(cur[2]) or 0
  local rem = 0
  if st == 'open' then rem = (tonumber(cur[3]) or 0) - now end
  if gen > 0 then
    local pt = redis.call('PTTL', KEYS[i])
    if pt >= 0 and pt < ttl / 2 then redis.call('PEXPIRE', KEYS[i], ttl + math.max(0, rem)) end
  end
  out[#out + 1] = st
  out[#out + 1] = string.format('%d', gen)
  out[#out + 1] = string.format('%d', rem)
end
return out`;

/**
 * KEYS: ns, log. ARGV: known epoch, known seq, state key prefix, most names to return.
 * What changed in the namespace since seq: reply 'delta', epoch, seq, then name, state, gen, remaining per
 * changed breaker; or 'full', epoch, seq when the reader cannot catch up from the log (other epoch, log
 * trimmed past its seq, too many changes): it then re-reads its own breakers with READ_MANY.
 */
const CHANGES = `
local ver = redis.call('HMGET', KEYS[1], 'epoch', 'seq', 'floor')
local epoch = ver[1] or ''
local seq = tonumber(ver[2]) or 0
local since = tonumber(ARGV[2])
if epoch ~= ARGV[1] or since > seq or since < (tonumber(ver[3]) or 0) then
  return { 'full', epoch, string.format('%d', seq) }
end
local names = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[2], '+inf', 'LIMIT', 0, tonumber(ARGV[4]) + 1)
if #names > tonumber(ARGV[4]) or (#names == 0 and seq > since) then
  return { 'full', epoch, string.format('%d', seq) }
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = { 'delta', epoch, string.format('%d', seq) }
for _, name in ipairs(names) do
  local cur = redis.call('HMGET', ARGV[3] .. name .. ':state', 'state', 'gen', 'until')
  local st = cur[1] or 'closed'
  local rem = 0
  if st == 'open' then rem = (tonumber(cur[3]) or 0) - now end
  out[#out + 1] = name
  out[#out + 1] = st
  out[#out + 1] = string.format('%d', tonumber(cur[2]) or 0)
  out[#out + 1] = string.format('%d', rem)
end
return out`;

/**
 * ARGV: name, channel, ttl, expectedGen (-1 = unconditional), newState, remainingMs, origin.
 * Verdict 1 = applied, 0 = the generation moved on (reply carries the state to adopt).
 */
const TRANSITION = `${PRELUDE}
local expected = tonumber(ARGV[4])
if expected >= 0 and gen ~= expected then return reply('0') end
apply(ARGV[5], tonumber(ARGV[6]), ARGV[7])
return reply('1')`;

/**
 * ARGV: name, channel, ttl, gen, count, origin, seq, failMax, windowMs (0 = none), quorum, openMs.
 * Pools failures reported for generation \`gen\` while CLOSED and opens the cluster once failMax of them are
 * alive in the window and at least \`quorum\` distinct instances reported. The sets are trimmed so they stay
 * O(failMax + instances). Verdict 1 = this report opened the cluster, 2 = counted, 0 = stale (adopt reply).
 * Extra reply fields: pooled count, distinct reporters.
 */
const FAIL = `${PRELUDE}
if st ~= 'closed' or gen ~= tonumber(ARGV[4]) then return reply('0') end
local n = tonumber(ARGV[5])
local origin = ARGV[6]
local failMax = tonumber(ARGV[8])
local window = tonumber(ARGV[9])
for i = 1, n do redis.call('ZADD', KEYS[4], now, origin .. ':' .. ARGV[7] .. ':' .. i) end
redis.call('ZADD', KEYS[5], now, origin)
if window > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - window)
end
redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -(failMax + 1))
local count = redis.call('ZCARD', KEYS[4])
local voters = redis.call('ZCARD', KEYS[5])
local keep = ttl
if window > 0 then keep = window end
redis.call('PEXPIRE', KEYS[4], keep)
redis.call('PEXPIRE', KEYS[5], keep)
if count >= failMax and voters >= tonumber(ARGV[10]) then
  apply('open', tonumber(ARGV[11]), '')
  local r = reply('1')
  r[5] = fmt(count); r[6] = fmt(voters)
  return r
end
local r = reply('2')
r[5] = fmt(count); r[6] = fmt(voters)
return r`;

/** ARGV: name, channel, ttl, gen. A success after failures: consecutive semantics, the pooled streak starts over. */
const RECOVER = `${PRELUDE}
if st == 'closed' and gen == tonumber(ARGV[4]) then redis.call('DEL', KEYS[4], KEYS[5]) end
return reply('1')`;

/**
 * ARGV: name, channel, ttl, token, leaseMs. In an OPEN state whose time is up (HALF-OPEN), take a free probe
 * slot with SET NX PX. Verdict 1 = granted (reply[5] = slot number), 2 = every slot is held (reply[5] =
 * shortest remaining lease in ms), 0 = not probing time (adopt reply).
 */
const ACQUIRE = `${PRELUDE}
if st ~= 'open' or now < untilAt then return reply('0') end
for i = 6, #KEYS do
  if redis.call('SET', KEYS[i], ARGV[4], 'NX', 'PX', ARGV[5]) then
    local r = reply('1'); r[5] = fmt(i - 5); return r
  end
end
local wait = -1
for i = 6, #KEYS do
  local pt = redis.call('PTTL', KEYS[i])
  if pt >= 0 and (wait < 0 or pt < wait) then wait = pt end
end
local r = reply('2'); r[5] = fmt(wait); return r`;

/**
 * ARGV: name, channel, ttl, token, slot, newState ('' = none), remainingMs, origin.
 * Compare-and-delete of a probe lease; with a newState, the probe's result is applied in the same step.
 * A token that no longer matches (expired, or the state moved on) makes the result void: verdict 0.
 * Verdict 1 = transition applied, 2 = slot freed without a transition.
 */
const SETTLE = `${PRELUDE}
local slot = KEYS[5 + tonumber(ARGV[5])]
if slot == nil or redis.call('GET', slot) ~= ARGV[4] then return reply('0') end
redis.call('DEL', slot)
if ARGV[6] == '' then
  publish('f', seq, remaining(), ARGV[8])
  return reply('2')
end
apply(ARGV[6], tonumber(ARGV[7]), ARGV[8])
return reply('1')`;

/**
 * ARGV: name, channel, ttl, token, slot, leaseMs. Compare-and-extend of a probe lease (its probe showed a
 * sign of life, e.g. a stream chunk): the lease runs leaseMs from now. Verdict 1 = extended, 0 = the token
 * no longer holds the slot (expired, or the state moved on): nothing changes.
 */
const EXTEND = `${PRELUDE}
local slot = KEYS[5 + tonumber(ARGV[5])]
if slot == nil or redis.call('GET', slot) ~= ARGV[4] then return reply('0') end
redis.call('PEXPIRE', slot, tonumber(ARGV[6]))
return reply('1')`;

/** A Lua script run by EVALSHA, falling back to EVAL when the server's script cache is empty (restart). */
export class LuaScript {
  readonly sha: string;
  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(
    client: Redis | Cluster,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return await client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

export const scripts = {
  readMany: new LuaScript('readMany', READ_MANY),
  changes: new LuaScript('changes', CHANGES),
  transition: new LuaScript('transition', TRANSITION),
  fail: new LuaScript('fail', FAIL),
  recover: new LuaScript('recover', RECOVER),
  acquire: new LuaScript('acquire', ACQUIRE),
  settle: new LuaScript('settle', SETTLE),
  extend: new LuaScript('extend', EXTEND),
} as const;
