// libpq's password file (fe-connect.c, passwordFromFile): used when no password was given. Each
// line is hostname:port:database:username:password, `*` matching anything, `\` escaping `:` and
// `\`; the first matching line wins. A Unix-socket host matches as "localhost". The file is
// skipped, as libpq does, when it is not a plain file or others may read it (mode & 077).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DB_HA_WARNING_CODES } from '../errors/codes.js'

export interface PassfileTarget {
  host: string
  port: number
  dbname: string
  user: string
}

/** The file libpq would read: the passfile option (or PGPASSFILE, resolved before), else ~/.pgpass. */
export function passfilePath(passfile: string | undefined): string {
  return passfile ?? path.join(os.homedir(), '.pgpass')
}

/** The password for `target` from `file`, or undefined (no file, unsafe mode, no matching line). */
export function passwordFromPassfile(file: string, target: PassfileTarget): string | undefined {
  let stat: fs.Stats
  try {
    stat = fs.statSync(file)
  } catch {
    return undefined
  }
  if (!stat.isFile()) return undefined
  if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
    process.emitWarning(`password file "${file}" has group or world access; permissions should be u=rw (0600) or less: not used`, {
      code: DB_HA_WARNING_CODES.DB_HA_PASSFILE_MODE,
    })
    return undefined
  }
  const host = target.host.startsWith('/') ? 'localhost' : target.host
  const wanted = [host, String(target.port), target.dbname, target.user]
  for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue
    const fields = splitLine(line)
    if (fields.length < 5) continue
    if (wanted.every((value, i) => fields[i]?.wildcard || fields[i]?.text === value)) return fields[4]?.text
  }
  return undefined
}

/**
 * Splits on unescaped `:`; `\x` stands for x, so only an unescaped lone `*` is a wildcard. The
 * password is everything after the fourth field.
 */
function splitLine(line: string): Array<{ text: string; wildcard: boolean }> {
  const fields: Array<{ text: string; wildcard: boolean }> = []
  let text = ''
  let raw = ''
  const end = () => fields.push({ text, wildcard: raw === '*' })
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string
    if (c === '\\' && i + 1 < line.length) {
      text += line[++i]
      raw += `\\${line[i]}`
    } else if (c === ':' && fields.length < 4) {
      end()
      text = ''
      raw = ''
    } else {
      text += c
      raw += c
    }
  }
  end()
  return fields
}
