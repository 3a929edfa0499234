// The keeper guard every data node's keeper runs under (keeper-guard.sh; why: its header).
import fs from 'node:fs'

/** keeper-guard.sh's text, as installed on the nodes. */
export const KEEPER_GUARD_SCRIPT = fs.readFileSync(new URL('./keeper-guard.sh', import.meta.url), 'utf8')
