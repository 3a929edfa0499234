// What every cluster script does around its own steps: the shared command line, progress output,
// ansible-runner input and artifacts (--private-data-dir), secrets scrubbed from everything
// printed or written, and one exit code rule (0 done, 1 failed, 2 bad input, 254 timeout/cancel).
import path from 'node:path'
import { loadClusterContext, redact } from './cluster-context.mjs'
import { errorCode, errorMessage } from '../../lib/error-message.mjs'
import { InputError, StepError, exitCodeFor, failureSummary } from '../../lib/errors.mjs'
import { createProgress } from './progress.mjs'
import { RC_INTERRUPTED, openArtifacts, readPrivateDataDir, writeTemporaryKey } from './runner-artifacts.mjs'
import { parseScriptArgs } from './script-args.mjs'

/**
 * @typedef {{
 *   args: Record<string, any>,
 *   progress: ReturnType<typeof createProgress>,
 *   inventoryFile: string,
 *   loadContext: (overrides?: {ssl?: string, dryRun?: boolean, secrets?: import('./cluster-context.mjs').SecretsUse}) => ReturnType<typeof loadClusterContext>,
 * }} ScriptRun
 * @param {{name: string, usage: string, string?: string[], boolean?: string[], service?: boolean, main: (run: ScriptRun) => Promise<number|void>}} spec
 *   service: runs until stopped; SIGTERM/SIGINT end it with exit 0
 *   main returns the exit code (default 0) or throws
 */
export async function runClusterScript({ name, usage, string = [], boolean = [], service = false, main }) {
  const fullUsage = `${usage} [-e key=value|@file ...] [--json] [--private-data-dir <dir> [--ident <id>]]`
  const argv = process.argv.slice(2)
  const { args, validate } = parseScriptArgs(argv, {
    usage: fullUsage,
    string: [...string, 'private-data-dir', 'ident'],
    boolean: ['json', ...boolean],
  })
  /** The cluster's secrets once loadContext has read them: scrubbed from everything shown. @type {Record<string, unknown>} */
  let secrets = {}
  /** @param {string} text */
  const scrub = (text) => redact(text, secrets)
  /** @type {ReturnType<typeof openArtifacts> | null} */
  let artifacts = null
  const progress = createProgress({ json: args.json, scrub, onEvent: (record, line) => artifacts?.progress(record, line) })

  /** @param {'successful'|'failed'|'timeout'|'canceled'} status @param {number} rc */
  const finish = (status, rc) => {
    artifacts?.finish(status, rc)
    process.exit(rc)
  }
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      // A service (the exporter) runs until stopped: that is its normal end.
      if (service) {
        process.stderr.write(`${name}: stopped by ${signal}\n`)
        return finish('successful', 0)
      }
      process.stderr.write(`${name}: canceled by ${signal}; steps already done stay done, a re-run resumes\n`)
      finish('canceled', RC_INTERRUPTED)
    })
  }

  try {
    validate()
    /** @type {Record<string, unknown>} */
    let extraVars = {}
    let inventoryFile = args.inventory
    if (args['private-data-dir'] !== undefined) {
      const dir = path.resolve(String(args['private-data-dir']))
      // Artifacts first, so even a bad input file is reported there as a failed run.
      artifacts = openArtifacts({
        dir,
        ident: args.ident,
        script: `${name}.mjs`,
        argv: [process.execPath, String(process.argv[1]), ...argv],
        scrub,
      })
      teeOutput(artifacts)
      const input = readPrivateDataDir(dir)
      Object.assign(process.env, input.envvars)
      artifacts.writeCommand(input.envvars)
      extraVars = { ...input.extravars }
      if (input.sshKey !== undefined && extraVars.ansible_ssh_private_key_file === undefined) {
        extraVars.ansible_ssh_private_key_file = writeTemporaryKey(input.sshKey)
      }
      inventoryFile ??= input.inventoryFile
      if (input.jobTimeoutS !== undefined) {
        setTimeout(() => {
          process.stderr.write(`${name}: job_timeout of ${input.jobTimeoutS} s reached; steps already done stay done, a re-run resumes\n`)
          finish('timeout', RC_INTERRUPTED)
        }, input.jobTimeoutS * 1000).unref()
      }
    } else if (args.ident !== undefined) {
      throw new InputError(`--ident goes with --private-data-dir; ${fullUsage}`)
    }
    // -e on the command line above env/extravars, as an explicit option above a job's defaults.
    extraVars = { ...extraVars, ...args.extraVars }
    if (!inventoryFile) throw new InputError(`--inventory is required (or --private-data-dir with inventory/hosts); ${fullUsage}`)

    const rc =
      (await main({
        args,
        progress,
        inventoryFile,
        loadContext: async (overrides = {}) => {
          const ctx = await loadClusterContext(inventoryFile, { ...overrides, extraVars })
          secrets = ctx.secrets
          return ctx
        },
      })) ?? 0
    finish(rc === 0 ? 'successful' : 'failed', rc)
  } catch (error) {
    const message = scrub(errorMessage(error))
    const summary = failureSummary(error, { name, scrub })
    const step = error instanceof StepError ? error.step : undefined
    if (args.json) process.stdout.write(JSON.stringify({ event: 'error', code: errorCode(error) ?? 'FAILED', step, message }) + '\n')
    process.stderr.write(summary)
    // A failed step is in the artifacts already (progress.step reported it).
    if (!(error instanceof StepError)) artifacts?.failure(errorCode(error) === 'INPUT_INVALID' ? 'input' : name, message, summary)
    finish('failed', exitCodeFor(error))
  }
}

/**
 * Everything the script prints also goes to the stdout artifact (scrubbed), as ansible-runner's does.
 * @param {ReturnType<typeof openArtifacts>} artifacts
 */
function teeOutput(artifacts) {
  for (const stream of [process.stdout, process.stderr]) {
    // The caller's arguments go through unchanged, whichever of write()'s overloads they match.
    const write = /** @type {(...args: unknown[]) => boolean} */ (stream.write.bind(stream))
    stream.write = (chunk, ...rest) => {
      artifacts.appendStdout(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
      return write(chunk, ...rest)
    }
  }
}
