// Host-side plumbing of a lab: one bridge, one namespace + veth pair per VM.
import fs from 'node:fs/promises'
import { $ } from 'zx'

/** The host's network namespaces, by name. @returns {Promise<string[]>} */
export async function listNamespaces() {
  const out = await $`ip -j netns list`.nothrow()
  if (out.exitCode !== 0 || out.stdout.trim() === '') return []
  return JSON.parse(out.stdout).map((/** @type {{name: string}} */ ns) => ns.name)
}

/** @param {string} name */
export async function linkExists(name) {
  return (await $`ip link show dev ${name}`.quiet().nothrow()).exitCode === 0
}

/** Pids of every process whose network namespace is `netns`. @param {string} netns */
export async function namespacePids(netns) {
  const out = await $`ip netns pids ${netns}`.quiet().nothrow()
  if (out.exitCode !== 0) return []
  return out.stdout
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number)
}

/** SIGKILL every process in a namespace until none is left (processes may fork while we kill). @param {string} netns */
export async function killNamespace(netns) {
  /** @type {Set<number>} */
  const killed = new Set()
  for (let round = 0; round < 50; round++) {
    const pids = await namespacePids(netns)
    if (pids.length === 0) return waitReaped(killed)
    for (const pid of pids) {
      killed.add(pid)
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        /* already gone */
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`processes in namespace ${netns} survived SIGKILL`)
}

// A killed process stays a zombie until its parent (init, for services) reaps it, which here
// takes up to a second; meanwhile its pid still looks alive, and pg_autoctl started again at once
// refuses to run over its own stale pidfile. A power-off is complete once they are reaped.
/** @param {Iterable<number>} pids @param {number} [timeoutMs] */
async function waitReaped(pids, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  let left = [...pids]
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    left = (
      await Promise.all(
        left.map(async (pid) =>
          (await fs.access(`/proc/${pid}`).then(
            () => true,
            () => false,
          ))
            ? pid
            : null,
        ),
      )
    ).filter((pid) => pid !== null)
  }
}

/**
 * Refuse a subnet that overlaps a route the host already has (other than our own bridge's).
 * @param {{subnet: string, prefix: string, bridge: string}} lab
 */
export async function ensureSubnetFree(lab) {
  const routes = JSON.parse((await $`ip -j -4 route show table all`).stdout)
  for (const route of routes) {
    if (route.dev === lab.bridge || typeof route.dst !== 'string') continue
    const [dst] = route.dst.split('/')
    if (route.dst === lab.subnet || (dst && dst.startsWith(`${lab.prefix}.`))) {
      throw new Error(`lab subnet ${lab.subnet} collides with the host route ${route.dst} on ${route.dev}; choose another with --subnet`)
    }
  }
}

/** @param {import('./lab-config.mjs').Lab} lab */
export async function createNetwork(lab) {
  await $`ip link add ${lab.bridge} type bridge`
  await $`ip addr add ${lab.gateway}/24 dev ${lab.bridge}`
  await $`ip link set ${lab.bridge} up`
  for (const vm of lab.vms) {
    await $`ip netns add ${vm.netns}`
    await $`ip link add ${vm.hostVeth} type veth peer name eth0 netns ${vm.netns}`
    await $`ip link set ${vm.hostVeth} master ${lab.bridge} up`
    await $`ip -n ${vm.netns} addr add ${vm.address}/24 dev eth0`
    await $`ip -n ${vm.netns} link set lo up`
    await $`ip -n ${vm.netns} link set eth0 up`
    await $`ip -n ${vm.netns} route add default via ${lab.gateway}`
  }
}

/** Removes what `createNetwork` made, whatever state it is in. @param {import('./lab-config.mjs').Lab} lab */
export async function destroyNetwork(lab) {
  // Also VMs an earlier run of the same lab had beyond today's count.
  const ours = new RegExp(`^${lab.name}-vm\\d$`)
  const namespaces = (await listNamespaces()).filter((ns) => ours.test(ns))
  for (const netns of namespaces) {
    await killNamespace(netns)
    await $`ip netns delete ${netns}`
  }
  for (const veth of new Set([...lab.vms.map((vm) => vm.hostVeth), ...namespaces])) {
    // Deleting a namespace removes its veth peer asynchronously, so this may race: ignore failures.
    if (await linkExists(veth)) await $`ip link delete ${veth}`.quiet().nothrow()
  }
  if (await linkExists(lab.bridge)) await $`ip link delete ${lab.bridge}`
}

/** @param {string} netns @param {'up'|'down'} state */
export async function setVmLink(netns, state) {
  await $`ip -n ${netns} link set eth0 ${state}`
}

const ISOLATION_TABLE = 'pgha_isolate'

/**
 * Drops every packet between the VM and the other VMs of its subnet, both ways, in the VM's own
 * namespace; the host (the gateway) still reaches it, as an application on another network would.
 * Packets are dropped, not rejected: peers see timeouts, as with a real partition.
 * @param {string} netns @param {{subnet: string, gateway: string}} lab
 */
export async function isolateVm(netns, { subnet, gateway }) {
  await releaseVm(netns)
  // Only on eth0: traffic to the VM's own address goes over lo and stays, as on a real host.
  const rules = `table inet ${ISOLATION_TABLE} {
  chain input { type filter hook input priority -10; policy accept; iifname "eth0" ip saddr ${gateway} accept; iifname "eth0" ip saddr ${subnet} drop; }
  chain output { type filter hook output priority -10; policy accept; oifname "eth0" ip daddr ${gateway} accept; oifname "eth0" ip daddr ${subnet} drop; }
}
`
  await $({ input: rules })`ip netns exec ${netns} nft -f -`
}

/** Removes isolateVm's rules; a no-op when there are none. @param {string} netns */
export async function releaseVm(netns) {
  await $`ip netns exec ${netns} nft delete table inet ${ISOLATION_TABLE}`.quiet().nothrow()
}

/** @param {string} netns */
export async function vmIsolated(netns) {
  const out = await $`ip netns exec ${netns} nft list table inet ${ISOLATION_TABLE}`.quiet().nothrow()
  return out.exitCode === 0
}

/** @param {string} netns */
export async function vmLinkState(netns) {
  const out = await $`ip -n ${netns} -j link show dev eth0`.quiet().nothrow()
  if (out.exitCode !== 0) return 'absent'
  const [link] = JSON.parse(out.stdout)
  return link?.flags?.includes('UP') ? 'up' : 'down'
}
