// Options that name a data node (--node, --to, --skip-node) take its node_name; an inventory host
// name there is refused with the node_name meant.
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { nodeByName, nodeNamed } from '../../scripts/lib/day2.mjs'
import { loadInventory } from '../../scripts/lib/inventory.mjs'
import { deployDir } from '../support/run-script.mjs'

const inventory = await loadInventory(path.join(deployDir, 'test/fixtures/three-vms.yml'))

describe('node names in options', () => {
  it('finds a node by its node_name', () => {
    expect(nodeByName(inventory, 'node2', 'usage').host).toBe('vm2')
  })

  it('refuses a host name, naming the node_name it stands for', () => {
    expect(() => nodeByName(inventory, 'vm2', 'usage')).toThrow('vm2 is an inventory host; --node takes a node_name: node2')
    expect(() => nodeNamed(inventory, 'vm1', '--to')).toThrow('vm1 is an inventory host; --to takes a node_name: node1')
  })

  it('refuses an unknown name or none, as bad input', () => {
    expect(() => nodeNamed(inventory, 'node9', '--skip-node')).toThrow(
      '--skip-node "node9" is not a node of the inventory (node1, node2, node3)',
    )
    expect(() => nodeByName(inventory, 'node9', 'usage', { unknown: 'add its host to the nodes group first' })).toThrow(
      /; add its host to the nodes group first$/,
    )
    expect(() => nodeByName(inventory, undefined, 'usage: x')).toThrow(
      expect.objectContaining({ code: 'INPUT_INVALID', message: '--node is required; usage: x' }),
    )
  })
})
