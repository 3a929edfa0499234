// deploy/inventory/lab.yml moved to a lab of a test's own (name, subnet), written into `dir`.
import fs from 'node:fs/promises'
import path from 'node:path'
import YAML from 'yaml'
import { deployDir } from './run-script.mjs'

/**
 * @param {string} dir where to write it
 * @param {{name: string, subnet: string}} lab subnet a.b.c.0/24
 * @returns {Promise<string>} the inventory file
 */
export async function writeLabInventory(dir, { name, subnet }) {
  const doc = YAML.parse(await fs.readFile(path.join(deployDir, 'inventory/lab.yml'), 'utf8'))
  const prefix = subnet.replace(/0\/24$/, '')
  doc.all.vars.lab_name = name
  doc.all.vars.network_cidr = subnet
  for (const group of Object.values(doc.all.children)) {
    for (const host of Object.values(group.hosts)) host.ansible_host = host.ansible_host.replace('10.213.37.', prefix)
  }
  const file = path.join(dir, `${name}.yml`)
  await fs.writeFile(file, YAML.stringify(doc))
  return file
}
