import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/*
 * Every decision about shared state runs inside Redis as one Lua script: atomic, on server time (TIME), and
 * guarded by the state's generation. KEYS are always: state, fails, reporters, probe slot 1..n.
 *
 * Replies are arrays of strings: { verdict, state, gen, remaining, ... } where `remaining` is the ms left in
 * OPEN measured on the server at reply time (clients add it to their own clock: no skew can leak in).
 * Published messages: "kind|gen|state|remaining|origin" with kind "t" (transition) or "f" (probe slot freed).
 */

// Reads TIME and the current state; defines apply() which performs a transition and publishes it.
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = redis.call('HMGET', KEYS[1], 'state', 'gen', 'until')
local st = cur[1] or 'closed'
local gen = tonumber(cur[2]) or 0
local untilAt = tonumber(cur[3]) or 0
local function fmt(x) return string.format('%d', x) end
local function remaining()
  if st == 'open' then return untilAt - now end
  return 0
end
local function reply(verdict) return { verdict, st, fmt(gen), fmt(remaining()) } end
-- Generations only grow, even if the key expired or the server restarted empty (no ABA on the CAS).
local function apply(newState, rem, origin, ttl, channel)
  gen = math.max(gen + 1, now)
  st = newState
  rem = math.max(0, rem)
  if st == 'open' then untilAt = now + rem else untilAt = 0; rem = 0 end
  redis.call('HSET', KEYS[1], 'state', st, 'gen', fmt(gen), 'until', fmt(untilAt), 'by', origin)
  redis.call('PEXPIRE', KEYS[1], ttl + rem)
  for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
  redis.call('PUBLISH', channel, 't|' .. fmt(gen) .. '|' .. st .. '|' .. fmt(rem) .. '|' .. origin)
end
`;

/** ARGV: ttl. Reads the state and keeps a live key from expiring while anyone still uses it. */
const READ = `${PRELUDE}
local ttl = tonumber(ARGV[1])
if gen > 0 then
  local pt = redis.call('PTTL', KEYS[1])
  if pt >= 0 and pt < ttl / 2 then redis.call('PEXPIRE', KEYS[1], ttl + math.max(0, remaining())) end
end
return reply('1')`;

/**
 * ARGV: expectedGen (-1 = unconditional), newState, remainingMs, origin, ttl, channel.
 * Verdict 1 = applied, 0 = the generation moved on (reply carries the state to adopt).
 */
const TRANSITION = `${PRELUDE}
local expected = tonumber(ARGV[1])
if expected >= 0 and gen ~= expected then return reply('0') end
apply(ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), ARGV[6])
return reply('1')`;

/**
 * ARGV: gen, count, origin, seq, failMax, windowMs (0 = none), quorum, openMs, ttl, channel.
 * Pools failures reported for generation \`gen\` while CLOSED and opens the cluster once failMax of them are
 * alive in the window and at least \`quorum\` distinct instances reported. The sets are trimmed so they stay
 * O(failMax + instances). Verdict 1 = this report opened the cluster, 2 = counted, 0 = stale (adopt reply).
 * Extra reply fields: pooled count, distinct reporters.
 */
const FAIL = `${PRELUDE}
if st ~= 'closed' or gen ~= tonumber(ARGV[1]) then return reply('0') end
local n = tonumber(ARGV[2])
local origin = ARGV[3]
local failMax = tonumber(ARGV[5])
local window = tonumber(ARGV[6])
local ttl = tonumber(ARGV[9])
for i = 1, n do redis.call('ZADD', KEYS[2], now, origin .. ':' .. ARGV[4] .. ':' .. i) end
redis.call('ZADD', KEYS[3], now, origin)
if window > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
end
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(failMax + 1))
local count = redis.call('ZCARD', KEYS[2])
local voters = redis.call('ZCARD', KEYS[3])
local keep = ttl
if window > 0 then keep = window end
redis.call('PEXPIRE', KEYS[2], keep)
redis.call('PEXPIRE', KEYS[3], keep)
if count >= failMax and voters >= tonumber(ARGV[7]) then
  apply('open', tonumber(ARGV[8]), '', ttl, ARGV[10])
  local r = reply('1')
  r[5] = fmt(count); r[6] = fmt(voters)
  return r
end
local r = reply('2')
r[5] = fmt(count); r[6] = fmt(voters)
return r`;

/** ARGV: gen. A success after failures: consecutive semantics, so the pooled streak starts over. */
const RECOVER = `${PRELUDE}
if st == 'closed' and gen == tonumber(ARGV[1]) then redis.call('DEL', KEYS[2], KEYS[3]) end
return reply('1')`;

/**
 * ARGV: token, leaseMs. In an OPEN state whose time is up (HALF-OPEN), take a free probe slot with
 * SET NX PX. Verdict 1 = granted (reply[5] = slot number), 2 = every slot is held (reply[5] = shortest
 * remaining lease in ms), 0 = not probing time (adopt reply).
 */
const ACQUIRE = `${PRELUDE}
if st ~= 'open' or now < untilAt then return reply('0') end
for i = 4, #KEYS do
  if redis.call('SET', KEYS[i], ARGV[1], 'NX', 'PX', ARGV[2]) then
    local r = reply('1'); r[5] = fmt(i - 3); return r
  end
end
local wait = -1
for i = 4, #KEYS do
  local pt = redis.call('PTTL', KEYS[i])
  if pt >= 0 and (wait < 0 or pt < wait) then wait = pt end
end
local r = reply('2'); r[5] = fmt(wait); return r`;

/**
 * ARGV: token, slot, newState ('' = none), remainingMs, origin, ttl, channel.
 * Compare-and-delete of a probe lease; with a newState, the probe's result is applied in the same step.
 * A token that no longer matches (expired, or the state moved on) makes the result void: verdict 0.
 * Verdict 1 = transition applied, 2 = slot freed without a transition.
 */
const SETTLE = `${PRELUDE}
local slot = KEYS[3 + tonumber(ARGV[2])]
if slot == nil or redis.call('GET', slot) ~= ARGV[1] then return reply('0') end
redis.call('DEL', slot)
if ARGV[3] == '' then
  redis.call('PUBLISH', ARGV[7], 'f|' .. fmt(gen) .. '|' .. st .. '|' .. fmt(remaining()) .. '|' .. ARGV[5])
  return reply('2')
end
apply(ARGV[3], tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6]), ARGV[7])
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

  async run(client: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<string[]> {
    try {
      return (await client.evalsha(this.sha, keys.length, ...keys, ...args)) as string[];
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return (await client.eval(this.source, keys.length, ...keys, ...args)) as string[];
    }
  }
}

export const scripts = {
  read: new LuaScript('read', READ),
  transition: new LuaScript('transition', TRANSITION),
  fail: new LuaScript('fail', FAIL),
  recover: new LuaScript('recover', RECOVER),
  acquire: new LuaScript('acquire', ACQUIRE),
  settle: new LuaScript('settle', SETTLE),
} as const;
