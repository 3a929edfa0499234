// Mounts a process left behind under a directory (dockerd's own network namespace file, a
// debootstrap's /proc) keep it from being removed.
import fs from 'node:fs'
import { $ } from 'zx'

/** Unmounts whatever is mounted under `dir`, deepest first. @param {string} dir */
export async function unmountUnder(dir) {
  const mounts = fs
    .readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length)
  for (const point of mounts) await $`umount -l ${point}`.quiet().nothrow()
}
