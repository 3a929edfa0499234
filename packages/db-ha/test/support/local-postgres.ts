// A throwaway PostgreSQL server for the db project: initdb into a fresh temp dir (or a standby:
// pg_basebackup of another such server), listen on 127.0.0.1 on a free port (socket in the same
// dir), password auth over TCP, extra settings as `-c` options (values without spaces). postgres
// refuses to run as root, so as root every server command runs as the `postgres` OS user.
// stop() removes everything, and a failed start leaves nothing behind.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const DEFAULT_BIN_DIR = '/usr/lib/postgresql/15/bin'
const OS_USER = 'postgres'

export interface LocalPostgres {
  readonly host: '127.0.0.1'
  readonly port: number
  readonly user: string
  readonly password: string
  readonly socketDir: string
  /** A postgresql:// URL with the password, to the "postgres" database, plus `query` if given. */
  url(query?: string): string
  /** pg_ctl promote (a standby): it leaves recovery on a new timeline and accepts writes. */
  promote(): Promise<void>
  /** Stops the server (immediate) and removes every file it wrote. */
  stop(): Promise<void>
}

export async function startLocalPostgres({
  settings = {},
  standbyOf,
  password: givenPassword,
  binDir = process.env.PG_BIN_DIR ?? DEFAULT_BIN_DIR,
}: {
  /** Server settings passed as `-c name=value`. */
  settings?: Record<string, string>
  /** The postgres user's password (default: random; a standby's is its source's). */
  password?: string
  /** Start a streaming standby of this server instead of a fresh one (same users and password). */
  standbyOf?: LocalPostgres
  binDir?: string
} = {}): Promise<LocalPostgres> {
  if (!existsSync(join(binDir, 'initdb'))) throw new Error(`no PostgreSQL server binaries in ${binDir} (set PG_BIN_DIR)`)
  const asRoot = process.getuid?.() === 0
  const baseDir = await mkdtemp(join(tmpdir(), 'pg-ha-db-ha-pg-'))
  const dataDir = join(baseDir, 'data')
  const socketDir = join(baseDir, 'socket')
  const logFile = join(baseDir, 'postgres.log')
  const pwFile = join(baseDir, 'pwfile')
  const user = 'postgres'
  const password = standbyOf?.password ?? givenPassword ?? randomBytes(18).toString('base64url')

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
  const stopServer = () => pgCommand('pg_ctl', ['stop', '-m', 'immediate', '-w', '-D', dataDir])

  let started = false
  try {
    await mkdir(socketDir)
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 })
    if (asRoot) {
      const [uid, gid] = await postgresIds()
      for (const path of [baseDir, socketDir, pwFile]) chownSync(path, uid, gid)
    }
    if (standbyOf) {
      // Over the source's socket, where initdb's pg_hba trusts local replication connections.
      await pgCommand('pg_basebackup', [
        '-h',
        standbyOf.socketDir,
        '-p',
        String(standbyOf.port),
        '-U',
        user,
        '-D',
        dataDir,
        '-R',
        '-X',
        'stream',
        '--no-sync',
      ])
    } else {
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
    }
    const port = await freePort()
    const serverOptions = [
      `-p ${port}`,
      `-k ${socketDir}`,
      '-c listen_addresses=127.0.0.1',
      // Throwaway data: durability buys nothing here.
      '-c fsync=off',
      '-c full_page_writes=off',
      ...Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`),
    ].join(' ')
    await pgCommand('pg_ctl', ['start', '-w', '-t', '60', '-D', dataDir, '-l', logFile, '-o', serverOptions])
    started = true
    return {
      host: '127.0.0.1',
      port,
      user,
      password,
      socketDir,
      url: (query) => `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres${query ? `?${query}` : ''}`,
      async promote() {
        await pgCommand('pg_ctl', ['promote', '-w', '-D', dataDir])
      },
      async stop() {
        try {
          await stopServer()
        } finally {
          await rm(baseDir, { recursive: true, force: true })
        }
      },
    }
  } catch (err) {
    if (started) await stopServer().catch(() => undefined)
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
