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
