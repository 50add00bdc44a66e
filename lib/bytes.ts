// Byte comparisons for the live path (docs/PERFORMANCE.md). A message arrives every few
// milliseconds, long enough for the CPU to forget the code between two: then each call into
// Buffer's native bindings (equals, compare) costs microseconds, and a plain loop over a few
// dozen bytes costs a fraction of one. Not constant time: for public values only (keys,
// certificates, signatures), never for secrets (use sodium's memcmp for those).

/** Whether `a` and `b` hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length
  if (n !== b.length) return false
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false
  return true
}

/** Whether `a` equals the `a.length` bytes of `buffer` from `start` (false if they run past `end`). */
export function equalBytesAt(a: Uint8Array, buffer: Uint8Array, start: number, end: number): boolean {
  const n = a.length
  if (start < 0 || start + n > end || end > buffer.length) return false
  for (let i = 0; i < n; i++) if (a[i] !== buffer[start + i]) return false
  return true
}
