// The engines a drill's load can run on: one registry the CLI validates against and the drill dispatches through.
import { ensureK6, runK6Engine } from './k6-engine.mjs'
import { runNodeEngine } from './node-engine.mjs'

/**
 * @typedef {object} Engine
 * @property {string} description
 * @property {() => void} ensureAvailable throws (code INPUT_INVALID) when the engine cannot run here
 * @property {(settings: import('../lib/scenario.js').Settings,
 *   records: {write(record: import('./records.mjs').AttemptRecord): void},
 *   options: {workDir: string, stopSignal?: AbortSignal, abortSignal?: AbortSignal}) => Promise<import('./node-engine.mjs').EngineRun>} run
 * @property {boolean} stopsOnSignal whether the load ends when the drill says so (else it runs its whole duration)
 */

/** @type {ReadonlyMap<string, Engine>} */
export const ENGINES = new Map([
  [
    'node',
    { description: 'the scenario on Node (undici), no k6 needed', ensureAvailable: () => {}, run: runNodeEngine, stopsOnSignal: true },
  ],
  [
    'k6',
    {
      description: 'k6 run load-tests/failover.js (your own k6 on PATH)',
      ensureAvailable: () => void ensureK6(),
      run: runK6Engine,
      stopsOnSignal: false,
    },
  ],
])
export const ENGINE_NAMES = [...ENGINES.keys()]

export { openRecordWriter, readRecords } from './records.mjs'
