// Bugs that fuzzing (test/helpers/fuzz.ts, `npm run fuzz`) found, each pinned by a test.
import test from 'brittle'
import c from 'compact-encoding'
import b4a from 'b4a'
import fs from 'fs/promises'
import path from 'path'
import { BackspaceError, isBackspaceError } from '../lib/errors.js'
import * as messages from '../lib/messages.js'
import {
  decodeMessageBlock,
  decodeStrict,
  encodeBlockBody,
  encodeMessageBlock,
  invite,
  keyFile,
  liveBlock,
  localState,
  MAX_HOLES,
  MAX_LENGTH_MARKS,
  MessageType,
  sealedFile,
  type KeyFile
} from '../lib/messages.js'
import * as device from '../lib/identity/device.js'
import * as accountLog from '../lib/account/account-log.js'
import * as links from '../lib/links.js'
import * as feed from '../lib/feed.js'
import * as commands from '../lib/commands.js'
import { inviteLink, parseInvite } from '../lib/links.js'
import { PWHASH_INTERACTIVE, randomBytes } from '../lib/crypto.js'
import { loadAccount } from '../lib/identity.js'
import { expectCode } from './helpers/expect.js'
import {
  ensure,
  formatFailure,
  prepare,
  Rng,
  runFuzz,
  runTarget,
  target,
  TARGETS,
  traceFields
} from './helpers/fuzz.js'

// ---------------------------------------------------------------------------
// Found by fuzzing
// ---------------------------------------------------------------------------

const author = randomBytes(32)
const block = (seq: number, count: number) =>
  encodeMessageBlock(
    encodeBlockBody({ author, seq, records: Array.from({ length: count }, () => ({ type: MessageType.TEXT, timestamp: 1, text: 'x' })) }),
    randomBytes(64)
  )

test('fuzz found: a block whose records run past seq 2^53 is refused', async (t) => {
  const max = Number.MAX_SAFE_INTEGER
  t.is(decodeMessageBlock(block(max - 1, 2)).body.records.length, 2, 'the last record at 2^53 - 1 is fine')
  await expectCode(t, () => decodeMessageBlock(block(max, 2)), 'DECODE_FAILED')
  await expectCode(t, () => decodeMessageBlock(block(max - 5, 10)), 'DECODE_FAILED')
})

test('fuzz found: a key file with a salt, box or Argon2id limits no writer uses is corrupt, not an AssertionError', async (t) => {
  const storage = await t.tmp()
  const good: KeyFile = {
    publicKey: randomBytes(32),
    createdAt: 1,
    encrypted: { salt: randomBytes(16), ...PWHASH_INTERACTIVE, box: randomBytes(72) },
    seed: null
  }
  t.ok(decodeStrict(keyFile, c.encode(keyFile, good), 'key file').encrypted, 'what saveAccount writes still decodes')
  const bad: Array<[string, Partial<NonNullable<KeyFile['encrypted']>>]> = [
    ['short salt', { salt: randomBytes(5) }],
    ['empty salt', { salt: b4a.alloc(0) }],
    ['opslimit 0', { opslimit: 0 }],
    ['memlimit 1', { memlimit: 1 }],
    ['memlimit 2^52', { memlimit: 2 ** 52 }],
    ['short box', { box: randomBytes(10) }]
  ]
  for (const [i, [what, patch]] of bad.entries()) {
    const record = { ...good, encrypted: { ...good.encrypted!, ...patch } }
    const dir = path.join(storage, 'accounts', `a${i}`)
    await fs.mkdir(dir, { recursive: true })
    await fs.writeFile(path.join(dir, 'identity.key'), c.encode(keyFile, record))
    try {
      await loadAccount(storage, `a${i}`, { password: 'pw' })
      t.fail(`${what}: loaded`)
    } catch (err) {
      t.ok(isBackspaceError(err, 'CORRUPT_KEY_FILE'), `${what}: ${(err as Error).message}`)
    }
  }
  // Limits that would run Argon2id for hours or ask for terabytes never reach it.
  for (const patch of [{ opslimit: 2 ** 32 - 1 }, { memlimit: 2 ** 42 }]) {
    const bytes = c.encode(keyFile, { ...good, encrypted: { ...good.encrypted!, ...patch } })
    await expectCode(t, () => decodeStrict(keyFile, bytes, 'key file'), 'DECODE_FAILED')
  }
})

test('fuzz found: empty buffers are refused where every writer sends bytes', async (t) => {
  await expectCode(t, () => decodeStrict(sealedFile, c.encode(sealedFile, b4a.alloc(0)), 'state file'), 'DECODE_FAILED')
  const live = c.encode(liveBlock, { key: randomBytes(32), index: 0, block: b4a.alloc(0) })
  await expectCode(t, () => decodeStrict(liveBlock, live, 'live block'), 'DECODE_FAILED')
  for (const record of [
    { type: MessageType.REVOKE, timestamp: 1, text: '', revocation: b4a.alloc(0), cuts: [] },
    { type: MessageType.ACCOUNT, timestamp: 1, text: '', payload: b4a.alloc(0) }
  ]) {
    const bytes = encodeMessageBlock(encodeBlockBody({ author, seq: 0, records: [record] }), randomBytes(64))
    await expectCode(t, () => decodeMessageBlock(bytes), 'DECODE_FAILED')
  }
})

test('fuzz found: an invite whose name is longer than any room name is refused', async (t) => {
  const secret = randomBytes(32)
  const longest = '👋'.repeat(64)
  t.is(parseInvite(inviteLink({ secret, name: longest })).name, longest, '64 code points, as normalizeRoomName allows')
  await expectCode(t, () => parseInvite(inviteLink({ secret, name: 'a'.repeat(65) })), 'INVALID_INVITE')
  await expectCode(t, () => parseInvite(inviteLink({ secret, name: 'x'.repeat(16 * 1024) })), 'INVALID_INVITE')
})

test('fuzz found: a state claiming a million rooms is refused before they are allocated', async (t) => {
  // v3, then 2^20 rooms (c.array's own limit) and nothing after: c.array made an array of
  // 2^20 slots before it read the first room.
  const huge = b4a.concat([c.encode(c.uint, 3), c.encode(c.uint, 0x100000)])
  try {
    decodeStrict(localState, huge, 'state')
    t.fail('decoded')
  } catch (err) {
    t.ok(isBackspaceError(err, 'DECODE_FAILED') && err.message.includes('1048576 elements'), `refused on the count: ${(err as Error).message}`)
  }
  const feed = { key: randomBytes(32), start: 0, storedFrom: 0, seen: 1 }
  const state = (f: object) => c.encode(localState, { rooms: [{ kind: 0, secret: randomBytes(32), name: 'a', joinedAt: 1, ttl: 1, feeds: [{ ...feed, ...f }] }], profile: { name: '', status: '', away: null } })
  const marks = (n: number) => Array.from({ length: n }, (_, i) => ({ time: i, length: i }))
  t.is(decodeStrict(localState, state({ marks: marks(MAX_LENGTH_MARKS) }), 'state').rooms[0]!.feeds[0]!.marks!.length, MAX_LENGTH_MARKS, 'marks at the cap still load')
  await expectCode(t, () => decodeStrict(localState, state({ marks: marks(MAX_LENGTH_MARKS + 1) }), 'state'), 'DECODE_FAILED')
  await expectCode(t, () => decodeStrict(localState, state({ holes: Array.from({ length: MAX_HOLES + 1 }, (_, i) => i) }), 'state'), 'DECODE_FAILED')
})
