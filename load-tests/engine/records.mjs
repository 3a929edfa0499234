// The attempt records every engine writes (one JSON line per attempt, or per dropped slot) and the
// drill's verification, figures and picture read. The Node engine writes them as it goes; for k6
// they are made from k6's JSON output (k6-json.mjs).
import { createReadStream } from 'node:fs'
import fs from 'node:fs/promises'
import readline from 'node:readline'

/**
 * @typedef {object} AttemptRecord
 * @property {'write' | 'read'} kind
 * @property {string | null} logical_id the logical write (null for reads)
 * @property {string | null} key the Idempotency-Key sent (the logical id; null for reads)
 * @property {number} attempt 1 for the first attempt; 0 for a dropped slot
 * @property {number} scheduled_ms epoch ms the logical write (or read) was due to start
 * @property {number | null} start_ms epoch ms this attempt started (null: dropped)
 * @property {number | null} end_ms epoch ms its answer (or error) arrived (null: dropped)
 * @property {number | null} status HTTP status; 0: no answer (refused, reset, timed out); null: dropped
 * @property {'acked' | 'retry' | 'rejected' | 'ok' | 'failed' | 'dropped'} outcome writes: classifyWrite's
 *   judgement or `dropped`; reads: `ok` (2xx) or `failed`
 * @property {string | null} error what went wrong without an HTTP answer, or the problem's `code`
 * @property {string | null} order_id the id the API answered with (acknowledged writes)
 */

export const OUTCOMES = ['acked', 'retry', 'rejected', 'ok', 'failed', 'dropped']

/** Appends records as JSON lines; `close()` resolves once they are on disk. */
export async function openRecordWriter(/** @type {string} */ file) {
  const handle = await fs.open(file, 'w', 0o644)
  /** @type {string[]} */
  let pending = []
  let flushing = Promise.resolve()
  const flush = () => {
    if (pending.length === 0) return flushing
    const chunk = pending.join('')
    pending = []
    flushing = flushing.then(() => handle.write(chunk)).then(() => undefined)
    return flushing
  }
  const timer = setInterval(flush, 250)
  return {
    /** @param {AttemptRecord} record */
    write(record) {
      pending.push(JSON.stringify(record) + '\n')
    },
    async close() {
      clearInterval(timer)
      await flush()
      await handle.close()
    },
  }
}

/**
 * Reads a records file; a line that is not a record throws, naming the file and line.
 * @param {string} file
 * @returns {Promise<AttemptRecord[]>}
 */
export async function readRecords(file) {
  const records = []
  for await (const { value: record, line } of readJsonLines(file)) {
    if (!OUTCOMES.includes(record?.outcome) || (record.kind !== 'write' && record.kind !== 'read'))
      throw new Error(`${file}:${line}: not an attempt record`)
    records.push(record)
  }
  return records
}

/**
 * The JSON value of each non-blank line of a file, with its line number; a line that is not JSON
 * throws naming the file and line. Records files and k6's JSON output are both read through it.
 * @param {string} file
 * @returns {AsyncGenerator<{value: any, line: number}>}
 */
export async function* readJsonLines(file) {
  let line = 0
  const lines = readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity })
  for await (const text of lines) {
    line++
    if (text.trim() === '') continue
    let value
    try {
      value = JSON.parse(text)
    } catch (err) {
      throw new Error(`${file}:${line}: not JSON`, { cause: err })
    }
    yield { value, line }
  }
}
