/**
 * "Full jitter" exponential backoff: uniform in [0, min(max, base * 2^(attempt-1))). Spreads the
 * reconnect storm of many clients after a failover instead of synchronising it.
 */
export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1))
  return Math.floor(Math.min(Math.max(random(), 0), 1 - Number.EPSILON) * cap)
}
