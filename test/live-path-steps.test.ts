// The live path's shortcuts (docs/PERFORMANCE.md, perf4) give the same answers as the slower
// ways they replace: byte comparisons, the signed index, and the expiry stamps computed ahead.
import test from 'brittle'
import b4a from 'b4a'
import c from 'compact-encoding'
import { equalBytes, equalBytesAt } from '../lib/bytes.js'
import { messageSignable, randomBytes } from '../lib/crypto.js'
import { StampedEncryption, stampedExpiry } from '../lib/room/expiry-stamp.js'

test('equalBytes and equalBytesAt agree with Buffer.equals, bounds included', (t) => {
  const a = randomBytes(32)
  t.ok(equalBytes(a, b4a.from(a)))
  t.absent(equalBytes(a, a.subarray(0, 31)), 'a shorter one differs')
  for (let i = 0; i < 32; i += 7) {
    const b = b4a.from(a)
    b[i] = b[i]! ^ 1
    t.absent(equalBytes(a, b), `a byte flipped at ${i}`)
  }
  const buffer = b4a.concat([randomBytes(5), a, randomBytes(3)])
  t.ok(equalBytesAt(a, buffer, 5, buffer.byteLength))
  t.absent(equalBytesAt(a, buffer, 4, buffer.byteLength), 'another offset')
  t.absent(equalBytesAt(a, buffer, 5, 36), 'running past the end given')
  t.absent(equalBytesAt(a, buffer, 20, buffer.byteLength), 'running past the buffer')
  t.absent(equalBytesAt(a, buffer, -1, buffer.byteLength), 'a negative start')
})

test('messageSignable writes the index as writeBigUInt64LE did, and refuses what it refused', (t) => {
  const room = randomBytes(32)
  const core = randomBytes(32)
  const body = b4a.from('body')
  for (const n of [0, 1, 255, 256, 65_535, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 2 ** 40 + 12_345, Number.MAX_SAFE_INTEGER]) {
    const signable = messageSignable(room, core, n, body)
    const expected = b4a.allocUnsafe(8)
    expected.writeBigUInt64LE(BigInt(n))
    t.alike(signable.subarray(signable.byteLength - body.byteLength - 8, signable.byteLength - body.byteLength), expected, `index ${n}`)
  }
  for (const bad of [-1, 1.5]) {
    let refused = false
    try {
      messageSignable(room, core, bad, body)
    } catch (err) {
      refused = err instanceof RangeError
    }
    t.ok(refused, `index ${bad} is refused`)
  }
})

test('expiry stamps prepared ahead are the stamps computed on demand', (t) => {
  const key = randomBytes(32)
  let now = 1_000 * 60_000
  const prepared = new StampedEncryption(key, () => now)
  const plain = new StampedEncryption(key, () => now)
  prepared.prepare(7, 0)
  t.alike(prepared.stamp(7, 0), plain.stamp(7, 0), 'the prepared index')
  t.alike(prepared.stamp(8, 0), plain.stamp(8, 0), 'another index is computed')
  prepared.prepare(9, 0)
  t.alike(prepared.stamp(9, 1), plain.stamp(9, 1), 'another fork is computed')
  prepared.prepare(10, 0)
  now += 60_000
  const later = prepared.stamp(10, 0)
  t.alike(later, plain.stamp(10, 0), 'a minute later is computed')
  t.is(c.uint32.decode({ start: 0, end: 4, buffer: later }), 1_001, 'with the new minute')

  // What Hypercore stores carries the stamp fixed for the live frame, and a relay reads it.
  const fixed = prepared.stamp(11, 0)
  now += 5 * 60_000
  const block = b4a.concat([b4a.alloc(8), b4a.from('block')])
  prepared.encrypt(11, block, 0)
  t.alike(block.subarray(0, 8), fixed, 'encrypt uses the fixed stamp')
  t.is(stampedExpiry(block, 11, 0), 1_001 * 60_000)
  const unfixed = b4a.concat([b4a.alloc(8), b4a.from('block')])
  prepared.encrypt(12, unfixed, 0)
  t.is(stampedExpiry(unfixed, 12, 0), 1_006 * 60_000, 'an index never stamped takes the time of its append')
})
