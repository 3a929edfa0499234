// The options that put Docker into the lab are refused where they do not belong, with exit 2 and
// the rule named, before anything runs (no lab named here exists, none is made).
import { describe, expect, it } from 'vitest'
import { runScript } from '../support/run-script.mjs'

const LAB = ['--name', 'pghnone', '--subnet', '10.213.71.0/24']

describe('lab cli and lab-up: docker options', () => {
  it.each([
    [['up', '--image', '/tmp/x.tar'], /--image archives are loaded into the VMs' dockerd: add --docker/],
    [['status', '--docker'], /--docker goes with "up" only/],
    [['down', '--image', '/tmp/x.tar'], /--image goes with "up" only/],
    [['docker-kill', 'vm1'], /"docker-kill" needs --container/],
    [['power-off', 'vm1', '--container', 'pgha-node-5432'], /--container goes with "docker-kill" only/],
    [['crash-postgres', 'vm1', '--port', '5432', '--container', 'x'], /--container goes with "docker-kill" only/],
  ])('lab %j exits 2', async (args, message) => {
    const out = await runScript('lab/cli.mjs', [...args, ...LAB])
    expect(out.code).toBe(2)
    expect(out.stderr).toMatch(message)
  })

  it.each([
    [['--runtime', 'podman'], /--runtime must be native or docker, got "podman"/],
    [['--runtime', 'docker', '--inventory', 'deploy/inventory/lab.yml'], /--runtime picks the lab inventory; .* drop one/],
  ])('lab-up %j exits 2', async (args, message) => {
    const out = await runScript('scripts/lab-up.mjs', [...args, '--no-api'])
    expect(out.code).toBe(2)
    expect(out.stderr).toMatch(message)
  })
})
