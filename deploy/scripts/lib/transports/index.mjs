// The transports an inventory may name (`transport:`): the inventory's validation and
// createTransport both read TRANSPORTS, so a name is valid exactly when it can be dispatched.
import { createNetnsTransport } from './netns-transport.mjs'
import { createSshTransport } from './ssh-transport.mjs'

/** @typedef {import('./transport.mjs').Transport} Transport */
/** The transports an inventory may name. @typedef {'netns' | 'ssh'} TransportName */

/** @type {Readonly<Record<TransportName, import('./transport.mjs').TransportFactory>>} */
export const TRANSPORTS = Object.freeze({
  netns: createNetnsTransport,
  ssh: createSshTransport,
})

/**
 * @param {import('../inventory.mjs').Inventory} inventory a validated inventory
 * @param {{dryRun?: boolean}} [options] dryRun: validate, create nothing
 * @returns {Transport}
 */
export function createTransport(inventory, { dryRun = false } = {}) {
  const factory = Object.hasOwn(TRANSPORTS, inventory.transport)
    ? TRANSPORTS[/** @type {TransportName} */ (inventory.transport)]
    : undefined
  if (!factory) throw new Error(`transport "${inventory.transport}" is not implemented`)
  return factory(inventory, { dryRun })
}
