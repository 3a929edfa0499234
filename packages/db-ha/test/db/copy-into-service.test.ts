// The README's promise: copy packages/db-ha/src/ into your service and it works with nothing but
// `pg`. A scratch service outside the repository gets a copy of src/ (without prisma/, the
// optional Prisma entry point, which needs @prisma/adapter-pg), its own package.json and a strict
// NodeNext tsconfig, and only pg, @types/pg and the TypeScript compiler, linked from the
// repository's node_modules (each resolves its own dependencies from there, as an install would:
// @types/node comes in as @types/pg's). It compiles with that tsc alone, then connects through a
// multi-host DSN whose first host is dead.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLocalPostgres, type LocalPostgres } from '../support/local-postgres.js'

const run = promisify(execFile)
const SRC = path.resolve(import.meta.dirname, '../../src')
const ROOT_NODE_MODULES = path.resolve(import.meta.dirname, '../../../../node_modules')
const LINKED = ['pg', '@types/pg', 'typescript']

const MAIN_TS = `import { createPool } from './db-ha/index.js'

const pool = createPool(process.env.DATABASE_URL)
try {
  const { rows } = await pool.query<{ one: number }>('select 1 as one')
  console.log(JSON.stringify({ rows, currentHost: pool.snapshot().currentHost }))
} finally {
  await pool.end()
}
`

let server: LocalPostgres
let service: string

beforeAll(async () => {
  server = await startLocalPostgres()
  // Outside the repository, so that nothing resolves from its node_modules by walking up.
  service = fs.mkdtempSync(path.join(os.tmpdir(), 'db-ha-copied-service-'))
  fs.cpSync(SRC, path.join(service, 'src', 'db-ha'), { recursive: true, filter: (from) => path.relative(SRC, from) !== 'prisma' })
  fs.writeFileSync(path.join(service, 'src', 'main.ts'), MAIN_TS)
  fs.writeFileSync(
    path.join(service, 'package.json'),
    JSON.stringify({ name: 'copied-db-ha-service', private: true, type: 'module' }, null, 2),
  )
  fs.writeFileSync(
    path.join(service, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: true,
          rootDir: 'src',
          outDir: 'dist',
        },
        include: ['src'],
      },
      null,
      2,
    ),
  )
  for (const name of LINKED) {
    const target = path.join(ROOT_NODE_MODULES, name)
    if (!fs.existsSync(target)) throw new Error(`${target} is missing: run npm install at the repository root`)
    fs.mkdirSync(path.dirname(path.join(service, 'node_modules', name)), { recursive: true })
    fs.symlinkSync(target, path.join(service, 'node_modules', name), 'dir')
  }
})
afterAll(async () => {
  if (service) fs.rmSync(service, { recursive: true, force: true })
  await server?.stop()
})

describe('src/ copied into a service', () => {
  it('holds db-ha without prisma/, and the service has only pg, @types/pg and typescript', () => {
    expect(fs.existsSync(path.join(service, 'src', 'db-ha', 'index.ts'))).toBe(true)
    expect(fs.existsSync(path.join(service, 'src', 'db-ha', 'prisma'))).toBe(false)
    expect(fs.readdirSync(path.join(service, 'node_modules')).sort()).toEqual(['@types', 'pg', 'typescript'])
    expect(fs.readdirSync(path.join(service, 'node_modules', '@types'))).toEqual(['pg'])
  })

  it('compiles with its own tsconfig (strict, NodeNext) and tsc alone', async () => {
    const tsc = path.join(service, 'node_modules', 'typescript', 'bin', 'tsc')
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: service }).catch(
      (error: { stdout?: string; stderr?: string }) => error,
    )
    // tsc reports type errors on stdout.
    expect(`${result.stdout ?? ''}${result.stderr ?? ''}`).toBe('')
    expect(fs.existsSync(path.join(service, 'dist', 'main.js'))).toBe(true)
  })

  it('runs select 1 through a multi-host DSN whose first host is dead', async () => {
    const dead = await unusedPort()
    const password = encodeURIComponent(server.password)
    const dsn = `postgresql://${server.user}:${password}@127.0.0.1:${dead},127.0.0.1:${server.port}/postgres?target_session_attrs=read-write&connect_timeout=5`
    // No PG* variables from this process: the DSN alone.
    const { stdout } = await run(process.execPath, ['dist/main.js'], {
      cwd: service,
      env: { PATH: process.env.PATH, HOME: service, DATABASE_URL: dsn },
      timeout: 30_000,
    })
    expect(JSON.parse(stdout)).toEqual({ rows: [{ one: 1 }], currentHost: `127.0.0.1:${server.port}` })
  })
})

// A port nothing listens on: connections to it are refused at once.
function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.on('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}
