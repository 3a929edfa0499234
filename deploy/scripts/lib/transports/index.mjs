import { createNetnsTransport } from './netns-transport.mjs'
import { createSshTransport } from './ssh-transport.mjs'

/** @param {{transport: string}} inventory */
export function createTransport(inventory) {
  switch (inventory.transport) {
    case 'netns':
      return createNetnsTransport(inventory)
    case 'ssh':
      return createSshTransport(/** @type {any} */ (inventory))
    default:
      throw new Error(`transport "${inventory.transport}" is not implemented`)
  }
}
