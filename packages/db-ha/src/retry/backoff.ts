/**
 * How a delay is drawn below its cap:
 * - `full`: uniform in [0, cap). Spreads the reconnect storm of many clients after a failover
 *   instead of synchronising it (withRetry).
 * - `equal`: uniform in [cap/2, cap). Never retries at once, so a loop waiting for a host to
 *   qualify does not spin (the pool's rediscovery on checkout).
 */
export type BackoffJitter = 'full' | 'equal'

/**
 * Exponential backoff with jitter, in whole ms, after the 1-based `attempt` that failed: the cap
 * is min(maxDelayMs, baseDelayMs * 2^(attempt-1)).
 */
export function backoffDelay(
  attempt: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number,
  jitter: BackoffJitter = 'full',
): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1))
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON)
  // Whole ms: setTimeout truncates anyway.
  return Math.floor(jitter === 'full' ? r * cap : cap * (0.5 + r / 2))
}
