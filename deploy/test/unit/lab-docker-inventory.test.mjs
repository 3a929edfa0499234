// deploy/inventory/lab-docker.yml: the lab inventory with runtime "docker", running the image
// deploy/image/build-image.mjs builds (its stable alias), and otherwise the same as lab.yml.
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import YAML from 'yaml'
import { IMAGE_ALIAS } from '../../image/image-spec.mjs'
import { loadInventory } from '../../scripts/lib/inventory.mjs'
import { deployDir } from '../support/run-script.mjs'

const lab = path.join(deployDir, 'inventory/lab.yml')
const labDocker = path.join(deployDir, 'inventory/lab-docker.yml')

describe('lab-docker.yml', () => {
  it('runs the image build-image.mjs tags', async () => {
    const inventory = await loadInventory(labDocker)
    expect(inventory.runtime).toBe('docker')
    expect(inventory.docker.image).toBe(IMAGE_ALIAS)
  })

  it('differs from lab.yml only in runtime and docker_image', async () => {
    const [native, docker] = await Promise.all([lab, labDocker].map(async (file) => YAML.parse(await fs.readFile(file, 'utf8'))))
    expect(docker.all.vars).toMatchObject({ runtime: 'docker', docker_image: IMAGE_ALIAS })
    delete docker.all.vars.docker_image
    docker.all.vars.runtime = native.all.vars.runtime
    expect(docker).toEqual(native)
  })
})
