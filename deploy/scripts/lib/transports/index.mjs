import { createNetnsTransport } from './netns-transport.mjs'

/** @param {{transport: string}} inventory */
export function createTransport(inventory) {
  switch (inventory.transport) {
    case 'netns':
      return createNetnsTransport(inventory)
    default:
      throw new Error(`transport "${inventory.transport}" is not implemented`)
  }
}
