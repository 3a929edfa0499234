// POSIX shell quoting, the one quoting function of every command line the kit builds (ssh,
// `sh -c`, the dry-run plan). Remote login shells and `sh` may be dash: zx's `quote` emits bash's
// $'…', which dash does not understand.

/**
 * Single-quotes `arg` unless it is made of characters no shell treats specially.
 * @param {string} arg
 */
export function shellQuote(arg) {
  if (/^[A-Za-z0-9_@+:,./-]+$/.test(arg)) return arg
  return `'${arg.replaceAll("'", `'\\''`)}'`
}
