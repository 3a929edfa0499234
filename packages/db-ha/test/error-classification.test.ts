import net from 'node:net'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { classifyError, isFailoverError, NoSuitableHostError, OutcomeUnknownError, RetryBudgetExhaustedError } from '../src/errors/index.js'

// --- error shapes as the libraries build them -------------------------------------------------

function pgError(code: string, message: string, severity = 'ERROR'): pg.DatabaseError {
  const error = new pg.DatabaseError(message, 100, 'error')
  error.code = code
  error.severity = severity
  return error
}

function socketError(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${syscall} ${code}`), { code, errno: -1, syscall })
}

// Same fields as Prisma 7's PrismaClientKnownRequestError over @prisma/adapter-pg.
class PrismaClientKnownRequestError extends Error {
  override name = 'PrismaClientKnownRequestError'
  clientVersion = '7.10.0'
  constructor(
    message: string,
    readonly code: string,
    readonly meta?: Record<string, unknown>,
  ) {
    super(message)
  }
}

function prismaError(code: string, message: string, adapterCause?: Record<string, unknown>) {
  const meta = adapterCause
    ? {
        modelName: 'User',
        driverAdapterError: Object.assign(new Error('DriverAdapterError'), { name: 'DriverAdapterError', cause: adapterCause }),
      }
    : undefined
  return new PrismaClientKnownRequestError(message, code, meta)
}

const postgresCause = (sqlState: string, message: string) => ({
  originalCode: sqlState,
  originalMessage: message,
  kind: 'postgres',
  code: sqlState,
  severity: 'FATAL',
  message,
})

// --- the table ------------------------------------------------------------------------------------

type Row = [label: string, error: unknown, kind: 'failover' | 'other', sent: 'no' | 'unknown', sqlState: string | undefined]

const table: Row[] = [
  [
    '57P01 admin_shutdown',
    pgError('57P01', 'terminating connection due to administrator command', 'FATAL'),
    'failover',
    'unknown',
    '57P01',
  ],
  [
    '57P02 crash_shutdown',
    pgError('57P02', 'terminating connection because of crash of another server process', 'FATAL'),
    'failover',
    'unknown',
    '57P02',
  ],
  ['57P03 cannot_connect_now', pgError('57P03', 'the database system is starting up', 'FATAL'), 'failover', 'no', '57P03'],
  ['25006 write on demoted primary', pgError('25006', 'cannot execute INSERT in a read-only transaction'), 'failover', 'no', '25006'],
  ['08006 connection_failure', pgError('08006', 'connection failure'), 'failover', 'unknown', '08006'],
  ['08001 unable to establish', pgError('08001', 'could not connect'), 'failover', 'no', '08001'],
  ['08P01 protocol violation (pgbouncer)', pgError('08P01', 'server conn crashed?'), 'failover', 'unknown', '08P01'],
  ['ECONNREFUSED', socketError('ECONNREFUSED', 'connect'), 'failover', 'no', undefined],
  ['ECONNRESET on read', socketError('ECONNRESET', 'read'), 'failover', 'unknown', undefined],
  ['ECONNRESET on connect', socketError('ECONNRESET', 'connect'), 'failover', 'no', undefined],
  ['ETIMEDOUT on connect', socketError('ETIMEDOUT', 'connect'), 'failover', 'no', undefined],
  ['ETIMEDOUT on read (keepalive)', socketError('ETIMEDOUT', 'read'), 'failover', 'unknown', undefined],
  ['EPIPE on write', socketError('EPIPE', 'write'), 'failover', 'unknown', undefined],
  ['EHOSTUNREACH on connect', socketError('EHOSTUNREACH', 'connect'), 'failover', 'no', undefined],
  ['ENETUNREACH on connect', socketError('ENETUNREACH', 'connect'), 'failover', 'no', undefined],
  ['EHOSTDOWN on connect', socketError('EHOSTDOWN', 'connect'), 'failover', 'no', undefined],
  ['plain "Connection terminated unexpectedly"', new Error('Connection terminated unexpectedly'), 'failover', 'unknown', undefined],
  [
    'pg-pool connect timeout wrapping "terminated unexpectedly"',
    new Error('Connection terminated due to connection timeout', { cause: new Error('Connection terminated unexpectedly') }),
    'failover',
    'no',
    undefined,
  ],
  ['pg-pool checkout timeout', new Error('timeout exceeded when trying to connect'), 'failover', 'no', undefined],
  ['pg client connect timeout', new Error('timeout expired'), 'failover', 'no', undefined],
  ['query on a broken client', new Error('Client has encountered a connection error and is not queryable'), 'failover', 'no', undefined],
  [
    'Prisma P1017 ConnectionClosed',
    prismaError('P1017', 'Server has closed the connection.', { kind: 'ConnectionClosed' }),
    'failover',
    'unknown',
    undefined,
  ],
  ['Prisma P1017 without details', prismaError('P1017', 'Server has closed the connection.'), 'failover', 'unknown', undefined],
  [
    'Prisma P1001 DatabaseNotReachable',
    prismaError('P1001', "Can't reach database server at 10.0.0.11:5432", { kind: 'DatabaseNotReachable', host: '10.0.0.11', port: 5432 }),
    'failover',
    'no',
    undefined,
  ],
  [
    'Prisma P2039 wrapping 57P03',
    prismaError(
      'P2039',
      'Database error. Code: `57P03`. Message: `the database system is starting up`',
      postgresCause('57P03', 'the database system is starting up'),
    ),
    'failover',
    'no',
    '57P03',
  ],
  [
    'Prisma P2010 wrapping 57P01',
    prismaError(
      'P2010',
      'Raw query failed. Code: `57P01`. Message: `terminating connection due to administrator command`',
      postgresCause('57P01', 'terminating connection due to administrator command'),
    ),
    'failover',
    'unknown',
    '57P01',
  ],
  [
    'Prisma P2010, SQLSTATE only in the message',
    prismaError('P2010', 'Raw query failed. Code: `57P01`. Message: `terminating connection`'),
    'failover',
    'unknown',
    '57P01',
  ],
  [
    'Prisma P2039 wrapping 25006',
    prismaError('P2039', 'Database error. Code: `25006`.', postgresCause('25006', 'cannot execute UPDATE in a read-only transaction')),
    'failover',
    'no',
    '25006',
  ],
  [
    'NoSuitableHostError',
    new NoSuitableHostError('read-write', [{ host: '10.0.0.11', port: 5432, reason: 'read-only' }]),
    'failover',
    'no',
    undefined,
  ],
  [
    'RoleChangedError-shaped',
    Object.assign(new Error('10.0.0.11:5432 no longer matches'), { code: 'DB_HA_ROLE_CHANGED' }),
    'failover',
    'no',
    undefined,
  ],
  // Not failover: the server answered and the caller's statement is at fault or must decide.
  [
    '23505 duplicate key',
    pgError('23505', 'duplicate key value violates unique constraint "users_email_key"'),
    'other',
    'unknown',
    '23505',
  ],
  ['42601 syntax error', pgError('42601', 'syntax error at or near "selec"'), 'other', 'unknown', '42601'],
  ['40001 serialization failure', pgError('40001', 'could not serialize access due to concurrent update'), 'other', 'unknown', '40001'],
  ['57014 statement timeout', pgError('57014', 'canceling statement due to statement timeout'), 'other', 'unknown', '57014'],
  ['28P01 auth failed', pgError('28P01', 'password authentication failed for user "app"', 'FATAL'), 'other', 'unknown', '28P01'],
  ['P0001 raise_exception (not a Prisma code)', pgError('P0001', 'custom'), 'other', 'unknown', 'P0001'],
  [
    'Prisma P2002 wrapping 23505',
    prismaError('P2002', 'Unique constraint failed on the constraint: `users_email_key`', {
      originalCode: '23505',
      originalMessage: 'duplicate key',
      kind: 'UniqueConstraintViolation',
      constraint: { index: 'users_email_key' },
    }),
    'other',
    'unknown',
    '23505',
  ],
  [
    'Prisma P2039 wrapping 23514',
    prismaError('P2039', 'Database error. Code: `23514`.', postgresCause('23514', 'violates check constraint')),
    'other',
    'unknown',
    '23514',
  ],
  [
    'Prisma P2034 write conflict',
    prismaError('P2034', 'Transaction failed due to a write conflict', { originalCode: '40001', kind: 'TransactionWriteConflict' }),
    'other',
    'unknown',
    '40001',
  ],
  ['EPERM is not a SQLSTATE', socketError('EPERM', 'open'), 'other', 'unknown', undefined],
  ['our own client.end()', new Error('Connection terminated'), 'other', 'unknown', undefined],
  ['plain Error', new Error('boom'), 'other', 'unknown', undefined],
  ['a string', 'Connection terminated unexpectedly', 'other', 'unknown', undefined],
  ['null', null, 'other', 'unknown', undefined],
  [
    'NoSuitableHostError, every host refused our credentials',
    new NoSuitableHostError('any', [
      { host: 'a', port: 5432, reason: 'auth-failed' },
      { host: 'b', port: 5432, reason: 'auth-failed' },
    ]),
    'other',
    'no',
    undefined,
  ],
  [
    'withRetry gave up already',
    new RetryBudgetExhaustedError(socketError('ECONNREFUSED', 'connect'), 3, 10_000),
    'other',
    'unknown',
    undefined,
  ],
  [
    'withRetry decided outcome unknown',
    new OutcomeUnknownError(socketError('ECONNRESET', 'read'), 1, classifyError(socketError('ECONNRESET', 'read'))),
    'other',
    'unknown',
    undefined,
  ],
  [
    'the pool saw a commit not replicated',
    new OutcomeUnknownError(
      { code: '01000', message: 'canceling wait for synchronous replication due to user request' },
      1,
      { kind: 'other', sent: 'unknown', reason: 'canceling wait' },
      'commit-not-replicated',
    ),
    'other',
    'unknown',
    undefined,
  ],
]

describe('classifyError', () => {
  it.each(table)('%s', (_label, error, kind, sent, sqlState) => {
    const result = classifyError(error)
    expect({ kind: result.kind, sent: result.sent, sqlState: result.sqlState }).toEqual({ kind, sent, sqlState })
    expect(result.reason).toBeTruthy()
    expect(isFailoverError(error)).toBe(kind === 'failover')
  })

  it('finds a failover code below non-failover wrappers', () => {
    const wrapped = new Error('query failed', { cause: new Error('db layer', { cause: pgError('57P01', 'terminating connection') }) })
    expect(classifyError(wrapped)).toMatchObject({ kind: 'failover', sent: 'unknown', sqlState: '57P01' })
  })

  it('survives cyclic cause chains', () => {
    const a = new Error('a') as Error & { cause?: unknown }
    const b = new Error('b', { cause: a })
    a.cause = b
    expect(classifyError(a).kind).toBe('other')
  })

  it('looks inside AggregateError (happy-eyeballs connect)', () => {
    const aggregate = new AggregateError([socketError('ECONNREFUSED', 'connect'), socketError('ECONNREFUSED', 'connect')], 'connect failed')
    expect(classifyError(aggregate)).toMatchObject({ kind: 'failover', sent: 'no' })
  })
})

// --- errors produced by real sockets and a real pg client -----------------------------------------

describe('classifyError on errors raised by pg itself', () => {
  const servers: net.Server[] = []
  const sockets = new Set<net.Socket>()
  afterEach(async () => {
    // close() waits for accepted sockets, which a client that timed out may leave open.
    for (const socket of sockets) socket.destroy()
    sockets.clear()
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
  })

  async function listen(onSocket: (socket: net.Socket) => void): Promise<number> {
    const server = net.createServer((socket) => {
      sockets.add(socket)
      onSocket(socket)
    })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return (server.address() as net.AddressInfo).port
  }

  async function connectError(config: pg.ClientConfig): Promise<unknown> {
    const client = new pg.Client(config)
    client.on('error', () => {})
    return client.connect().then(
      () => {
        throw new Error('expected connect to fail')
      },
      (error: unknown) => error,
    )
  }

  it('connection refused: failover, not sent', async () => {
    const port = await listen(() => {})
    await new Promise((resolve) => servers.pop()?.close(resolve))
    const error = await connectError({ host: '127.0.0.1', port })
    expect(error).toMatchObject({ code: 'ECONNREFUSED' })
    expect(classifyError(error)).toMatchObject({ kind: 'failover', sent: 'no' })
  })

  it('server closes the socket: "Connection terminated unexpectedly", outcome unknown', async () => {
    const port = await listen((socket) => socket.once('data', () => socket.end()))
    const error = await connectError({ host: '127.0.0.1', port })
    expect((error as Error).message).toBe('Connection terminated unexpectedly')
    expect(classifyError(error)).toMatchObject({ kind: 'failover', sent: 'unknown' })
  })

  it('server resets the socket: ECONNRESET on read, outcome unknown', async () => {
    const port = await listen((socket) => socket.once('data', () => socket.resetAndDestroy()))
    const error = await connectError({ host: '127.0.0.1', port })
    expect(error).toMatchObject({ code: 'ECONNRESET' })
    expect(classifyError(error)).toMatchObject({ kind: 'failover', sent: 'unknown' })
  })

  it('black-holed server: pg-pool connection timeout, not sent', async () => {
    const port = await listen(() => {})
    const pool = new pg.Pool({ host: '127.0.0.1', port, connectionTimeoutMillis: 50 })
    const error = await pool.connect().then(
      () => {
        throw new Error('expected connect to fail')
      },
      (e: unknown) => e,
    )
    await pool.end()
    expect((error as Error).message).toBe('Connection terminated due to connection timeout')
    expect(classifyError(error)).toMatchObject({ kind: 'failover', sent: 'no' })
  })
})
