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

/**
 * `sh -c` script: writes stdin to $1 with mode $2, through a temporary file of its own beside it
 * (so hosts sharing the directory cannot clash), unless $1 already holds exactly that with that
 * mode: it then prints "unchanged" and leaves $1 alone. A mode loosened by hand is put back.
 */
export const WRITE_IF_CHANGED_SH =
  'tmp=$(mktemp "$1.XXXXXX") && cat > "$tmp" && chmod "$2" "$tmp" && if cmp -s "$tmp" "$1" && [ "$(stat -c %a "$tmp")" = "$(stat -c %a "$1")" ]; then rm -f "$tmp"; echo unchanged; else mv "$tmp" "$1"; fi'
