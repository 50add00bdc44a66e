/**
 * Asks the terminal to put `text` on the system clipboard with the OSC 52 escape sequence,
 * which most current terminals accept (and tmux, with `set-clipboard on`). Invite links are
 * longer than a terminal row, so copying them off the screen would pick up line breaks.
 * Returns false when stdout is not a terminal. Whether the terminal obeyed, nothing tells.
 */
export function copyToClipboard(text: string, out: NodeJS.WriteStream = process.stdout): boolean {
  if (!out.isTTY) return false
  // The sequence has no visible width and no newline, so Ink's frame is not disturbed.
  out.write(`\x1b]52;c;${Buffer.from(text, 'utf8').toString('base64')}\x07`)
  return true
}
