import { createNetnsTransport } from './netns-transport.mjs'
import { createSshTransport } from './ssh-transport.mjs'

/** @param {{transport: string}} inventory @param {{dryRun?: boolean}} [options] dryRun: validate, create nothing */
export function createTransport(inventory, { dryRun = false } = {}) {
  switch (inventory.transport) {
    case 'netns':
      return createNetnsTransport(inventory)
    case 'ssh':
      return createSshTransport(/** @type {any} */ (inventory), { dryRun })
    default:
      throw new Error(`transport "${inventory.transport}" is not implemented`)
  }
}
