// The lab an inventory with transport netns runs on (lab-up and lab-down build and remove it).
import { resolveLabConfig } from '../../lab/lab-config.mjs'
import { InputError } from '../../lib/errors.mjs'

/**
 * @param {import('./inventory.mjs').Inventory} inventory a parsed inventory @param {string} file its path, for the error
 * @param {string} script who asks, for the error
 */
export function labOfInventory(inventory, file, script) {
  if (inventory.transport !== 'netns')
    throw new InputError(`${script} needs an inventory with transport "netns"`, { file, key: 'all.vars.transport' })
  const vms = new Set(
    [inventory.monitor, ...inventory.nodes].map((h) => {
      // The inventory's validation requires it with transport netns.
      if (h.labVm === undefined) throw new InputError('transport "netns" needs lab_vm on every host', { file, key: `${h.key}.lab_vm` })
      return h.labVm
    }),
  )
  return resolveLabConfig({
    name: inventory.labName,
    subnet: inventory.networkCidr,
    vms: Math.max(...[...vms].map((vm) => Number(vm.slice(2)))),
  })
}
