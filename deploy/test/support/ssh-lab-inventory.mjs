// The inventory variables of a lab reached over ssh only (no lab_name, no lab_vm): the lab's
// generated key and known_hosts, the fast failover profile.

/**
 * @param {string} subnet the lab's, also the inventory's network_cidr
 * @param {{privateKey: string, knownHosts: string}} keys from labSshPaths(lab)
 * @param {Record<string, unknown>} [vars] more all.vars, or overrides
 */
export function sshLabVars(subnet, keys, vars = {}) {
  return {
    failover_profile: 'fast',
    transport: 'ssh',
    network_cidr: subnet,
    ansible_ssh_private_key_file: keys.privateKey,
    ssh_known_hosts_file: keys.knownHosts,
    ssh_connect_timeout: 5,
    ...vars,
  }
}
