// The runtimes an inventory may name (`runtime:`): the inventory's validation and createRuntime
// both read RUNTIMES, so a name is valid exactly when it can be dispatched.
import { createDockerRuntime } from './docker-runtime.mjs'
import { createNativeRuntime } from './native-runtime.mjs'

/** @typedef {import('./runtime.mjs').Runtime} Runtime */
/** The runtimes an inventory may name. @typedef {'native' | 'docker'} RuntimeName */

/** @type {Readonly<Record<RuntimeName, import('./runtime.mjs').RuntimeFactory>>} */
export const RUNTIMES = Object.freeze({
  native: createNativeRuntime,
  docker: createDockerRuntime,
})

/**
 * @param {import('../inventory.mjs').Inventory} inventory a validated inventory
 * @param {import('../transports/transport.mjs').Transport} transport
 * @param {Record<string, string>} secrets
 * @returns {Runtime}
 */
export function createRuntime(inventory, transport, secrets) {
  const factory = Object.hasOwn(RUNTIMES, inventory.runtime) ? RUNTIMES[/** @type {RuntimeName} */ (inventory.runtime)] : undefined
  if (!factory) throw new Error(`runtime "${inventory.runtime}" is not implemented`)
  return factory(inventory, transport, secrets)
}
