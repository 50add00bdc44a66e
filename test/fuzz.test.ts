// Fuzzing (issue 10): every decoder and link parser gets 100,000 hostile inputs in total on
// every run, and none may throw anything but a BackspaceError. The engine and the list of
// targets are in helpers/fuzz.ts; `npm run fuzz -- --count 1000000` is the long run.
// Below the run: the bugs it found, each pinned by a regression test.
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
import * as pairingMessages from '../lib/identity/pairing-messages.js'
import * as stateCodecs from '../lib/state/codecs.js'
import * as links from '../lib/links.js'
import * as feed from '../lib/room/feed.js'
import * as wipeNotices from '../lib/room/wipe-notice.js'
import * as commands from '../lib/commands.js'
import * as epochCodec from '../lib/room/epoch-codec.js'
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

// A fixed seed, so every run checks the same inputs; FUZZ_SEED=n tries others.
const SEED = process.env.FUZZ_SEED === undefined ? 0x5eed : Number(process.env.FUZZ_SEED)
const COUNT = 100_000

test('fuzz: 100,000 hostile inputs over every decoder and link parser, no exception but a BackspaceError', async (t) => {
  const reports = runFuzz({ seed: SEED, count: COUNT })
  t.is(reports.reduce((s, r) => s + r.inputs, 0), COUNT, `${COUNT} inputs, seed ${SEED}`)
  for (const r of reports) {
    const failures = r.failures.length + r.moreFailures
    if (failures > 0) {
      t.fail(`${r.name}: ${failures} failures with seed ${SEED}\n\n${r.failures.map(formatFailure).join('\n\n')}`)
      continue
    }
    const rejected = r.inputs - r.accepted
    // Both sides exercised: valid values (so checks and round trips ran) and refusals.
    t.ok(r.accepted > 0 && (rejected > 0 || r.name === 'parseCommand'), `${r.name}: ${r.inputs} inputs, ${r.accepted} decoded, ${rejected} refused`)
  }
})

test('fuzz: every exported codec and decoder has a target', async (t) => {
  const isCodec = (v: unknown) =>
    typeof v === 'object' && v !== null && ['preencode', 'encode', 'decode'].every((k) => typeof (v as Record<string, unknown>)[k] === 'function')
  const modules = { messages, device, accountLog, pairingMessages, stateCodecs, links, feed, commands, epochCodec, wipeNotices }
  // The generic wrappers: every codec they run has a target of its own.
  const wrappers = ['decodeStrict', 'decodeEntry']
  const names = new Set(TARGETS.map((x) => x.name))
  for (const [module, exports] of Object.entries(modules)) {
    for (const [name, value] of Object.entries(exports)) {
      if (isCodec(value)) t.ok(TARGETS.some((x) => x.codecs.includes(value)), `${module}.${name} is fuzzed`)
      else if (typeof value === 'function' && /^(decode|parse)[A-Z]/.test(name) && !wrappers.includes(name)) {
        t.ok(names.has(name), `${module}.${name} is fuzzed`)
      }
    }
  }
})

test('fuzz: the field map of a codec marks its varints, strings and keys', async (t) => {
  const bytes = c.encode(invite, { secret: b4a.alloc(32, 7), name: 'ab' })
  const fields = traceFields(() => decodeStrict(invite, bytes, 'invite'))
  t.alike(fields, [
    { kind: 'uint', start: 0, end: 1 },
    { kind: 'uint', start: 1, end: 2 },
    { kind: 'fixed', start: 2, end: 34 },
    { kind: 'bytes', start: 34, end: 37 },
    { kind: 'uint', start: 34, end: 35 }
  ])
  t.is(c.uint.decode({ start: 0, end: 1, buffer: b4a.from([5]) }), 5, 'the primitives are restored')
  for (const x of TARGETS) {
    const state = prepare(x, SEED)
    if (x.kind === 'bytes') t.ok(state.fields.every((f) => f.length > 0), `${x.name}: every sample is mapped`)
    else if (x.payloadOf) t.ok(state.payloadFields.length > 0 && state.payloadFields.every((f) => f.length > 0), `${x.name}: every payload is mapped`)
  }
})

test('fuzz: the same seed gives the same inputs', async (t) => {
  const x = TARGETS.find((y) => y.name === 'decodeMessageBlock')!
  const inputs = () => {
    const state = prepare(x, 42)
    const rng = new Rng(42, 'inputs:decodeMessageBlock')
    return Array.from({ length: 200 }, () => x.generate(rng, state).input)
  }
  t.alike(inputs(), inputs())
})

test('fuzz: the engine reports an exception, a broken cap, a drifting round trip and a throw from a total function', async (t) => {
  const samples = () => [b4a.from([1, 2, 3]), b4a.from([4, 5, 6, 7])]
  const reports = [
    target<Buffer, number>({
      name: 'throws',
      kind: 'bytes',
      samples,
      decode: (b) => {
        if (b.byteLength > 4) throw new RangeError('an index out of range')
        return b.byteLength
      }
    }),
    target<Buffer, number>({ name: 'over cap', kind: 'bytes', samples, decode: (b) => b.byteLength, check: (n) => ensure(n <= 4, `${n} > 4`) }),
    target<Buffer, number>({ name: 'drifts', kind: 'bytes', samples, decode: (b) => b.byteLength, encode: (n) => b4a.alloc(n + 1) }),
    target<string, string>({
      name: 'total',
      kind: 'string',
      total: true,
      samples: () => ['ab'],
      decode: (s) => {
        if (s.length > 3) throw BackspaceError.DECODE_FAILED()
        return s
      }
    })
  ].map((x) => runTarget(x, SEED, 500, { keep: 1 }))
  t.alike(reports.map((r) => r.failures[0]?.stage), ['decode', 'check', 'round trip', 'decode'])
  const failure = reports[0]!.failures[0]!
  t.ok(formatFailure(failure).includes(`seed ${SEED}`), 'a failure names its seed')
  t.ok(/^[0-9a-f]+$/.test(failure.input) && failure.error.startsWith('RangeError'), 'and its input in hex, and the exception')
})

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
    version: 2,
    linked: false,
    publicKey: randomBytes(32),
    createdAt: 1,
    encrypted: { salt: randomBytes(16), ...PWHASH_INTERACTIVE, box: randomBytes(72) },
    secret: null
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

test('fuzz found: a local-state entry claiming a million feeds, marks or ids is refused before they are allocated', async (t) => {
  // A room entry (v1): kind, secret, name, joinedAt, ttl, then 2^20 feeds and nothing after.
  const head = [c.encode(c.uint, 1), c.encode(c.uint, 0), randomBytes(32), c.encode(c.string, 'a'), c.encode(c.uint, 1), c.encode(c.uint, 1)]
  const huge = b4a.concat([...head, c.encode(c.uint, 0x100000)])
  try {
    stateCodecs.decodeEntry(stateCodecs.roomEntry, huge, 'room')
    t.fail('decoded')
  } catch (err) {
    t.ok(isBackspaceError(err, 'DECODE_FAILED') && err.message.includes('1048576 elements'), `refused on the count: ${(err as Error).message}`)
  }
  // A read entry with recent ids flagged, and 2^20 of them.
  const reads = b4a.concat([c.encode(c.uint, 1), c.encode(c.uint, 2), c.encode(c.uint, 0), c.encode(c.uint, 0), c.encode(c.uint, 0x100000)])
  await expectCode(t, () => stateCodecs.decodeEntry(stateCodecs.readEntry, reads, 'read'), 'DECODE_FAILED')
})

test('fuzz found: a feed record flagged with an empty list of marks or holes reads as having none', async (t) => {
  // flags 3 (marks and holes), key, start, storedFrom, seen, then two empty lists: framed.
  const feed = b4a.concat([c.encode(c.uint, 3), randomBytes(32), c.encode(c.uint, 0), c.encode(c.uint, 0), c.encode(c.uint, 1), c.encode(c.uint, 0), c.encode(c.uint, 0)])
  const head = [c.encode(c.uint, 1), c.encode(c.uint, 0), randomBytes(32), c.encode(c.string, 'a'), c.encode(c.uint, 1), c.encode(c.uint, 1)]
  const entry = b4a.concat([...head, c.encode(c.uint, 1), c.encode(c.uint, feed.byteLength), feed])
  const room = stateCodecs.decodeEntry(stateCodecs.roomEntry, entry, 'room')
  t.is(room.feeds[0]!.marks, undefined)
  t.is(room.feeds[0]!.holes, undefined)
  t.alike(stateCodecs.decodeEntry(stateCodecs.roomEntry, c.encode(stateCodecs.roomEntry, room), 'room'), room, 'and a rewrite reads the same')
})
