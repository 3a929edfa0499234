// A throwaway PostgreSQL server for tests: initdb into a fresh temp dir, listen on 127.0.0.1 on a free
// port (socket in the same dir), password auth over TCP so tests see a DSN with a real secret.
// postgres refuses to run as root, so as root every server command runs as the `postgres` user.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'

const run = promisify(execFile)
const DEFAULT_BIN_DIR = '/usr/lib/postgresql/15/bin'
const OS_USER = 'postgres'

export interface LocalPostgres {
  readonly host: '127.0.0.1'
  readonly port: number
  readonly user: string
  readonly password: string
  /** A postgresql:// URL with the password, for the given database (default "postgres"). */
  url(database?: string): string
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>
  /** Stops the server and removes every file it wrote. */
  stop(): Promise<void>
}

export async function startLocalPostgres({ binDir = process.env.PG_BIN_DIR ?? DEFAULT_BIN_DIR } = {}): Promise<LocalPostgres> {
  if (!existsSync(join(binDir, 'initdb'))) throw new Error(`no PostgreSQL server binaries in ${binDir} (set PG_BIN_DIR)`)
  const asRoot = process.getuid?.() === 0
  const baseDir = await mkdtemp(join(tmpdir(), 'pg-ha-api-pg-'))
  const dataDir = join(baseDir, 'data')
  const socketDir = join(baseDir, 'socket')
  const logFile = join(baseDir, 'postgres.log')
  const pwFile = join(baseDir, 'pwfile')
  const user = 'postgres'
  const password = randomBytes(18).toString('base64url')

  const pgCommand = async (command: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', OS_USER, '--', join(binDir, command), ...args]] : [join(binDir, command), args]
    try {
      return await run(file, argv, { cwd: baseDir, timeout: 60_000 })
    } catch (err) {
      const { stderr, stdout } = err as { stderr?: string; stdout?: string }
      const log = await readFile(logFile, 'utf8').catch(() => '')
      throw new Error(`${command} failed: ${stderr || stdout || (err as Error).message}${log ? `\nserver log:\n${log}` : ''}`, {
        cause: err,
      })
    }
  }

  let started = false
  try {
    await mkdir(socketDir)
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 })
    if (asRoot) {
      const [uid, gid] = await postgresIds()
      for (const path of [baseDir, socketDir, pwFile]) chownSync(path, uid, gid)
    }
    await pgCommand('initdb', [
      '-D',
      dataDir,
      '-U',
      user,
      `--pwfile=${pwFile}`,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '--encoding=UTF8',
      '--no-locale',
      '--no-sync',
    ])
    const port = await freePort()
    const serverOptions = [
      `-p ${port}`,
      `-k ${socketDir}`,
      '-c listen_addresses=127.0.0.1',
      // Throwaway data: durability buys nothing here.
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
    ].join(' ')
    await pgCommand('pg_ctl', ['start', '-w', '-t', '60', '-D', dataDir, '-l', logFile, '-o', serverOptions])
    started = true

    const url = (database = 'postgres') =>
      `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`
    return {
      host: '127.0.0.1',
      port,
      user,
      password,
      url,
      async createDatabase(name) {
        const client = new pg.Client({ connectionString: url() })
        await client.connect()
        try {
          await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`)
        } finally {
          await client.end()
        }
        return url(name)
      },
      async stop() {
        try {
          await pgCommand('pg_ctl', ['stop', '-m', 'immediate', '-w', '-D', dataDir])
        } finally {
          await rm(baseDir, { recursive: true, force: true })
        }
      },
    }
  } catch (err) {
    if (started) await pgCommand('pg_ctl', ['stop', '-m', 'immediate', '-w', '-D', dataDir]).catch(() => undefined)
    await rm(baseDir, { recursive: true, force: true })
    throw err
  }
}

async function postgresIds(): Promise<[number, number]> {
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', OS_USER]), run('id', ['-g', OS_USER])])
  return [Number(uid.trim()), Number(gid.trim())]
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}
