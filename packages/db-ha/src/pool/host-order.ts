// The order discovery tries the hosts in: libpq's (the list order, or with
// load_balance_hosts=random a new shuffle for every connection), then what the pool learnt on top
// (HostState.order): the remembered host first, suspects last.
import type { HostSpec, LoadBalanceHosts } from '../settings/connection-settings.js'
import type { HostState } from './host-state.js'

export function candidateHosts(
  hosts: readonly HostSpec[],
  state: Pick<HostState, 'order'>,
  loadBalanceHosts: LoadBalanceHosts,
  random: () => number = Math.random,
): HostSpec[] {
  return state.order(loadBalanceHosts === 'random' ? shuffle(hosts, random) : [...hosts])
}

/** Fisher-Yates: every order equally likely (given a uniform `random`). */
export function shuffle<T>(items: readonly T[], random: () => number = Math.random): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}
