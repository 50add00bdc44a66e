import test from 'brittle'
import fs from 'fs/promises'
import path from 'path'
import { expectCode } from './helpers/expect.js'
import {
  Backspace,
  Identity,
  accountIsEncrypted,
  listAccounts,
  loadAccount,
  saveAccount
} from '../lib/index.js'

test('a recovery phrase turns back into the same keys', async (t) => {
  const id = Identity.generate()
  const words = id.phrase.split(' ')
  t.is(words.length, 24)
  const back = Identity.fromPhrase(id.phrase)
  t.alike(back.publicKey, id.publicKey)
  t.alike(Identity.fromPhrase(`  ${id.phrase.toUpperCase()}  `).publicKey, id.publicKey, 'case and spaces')
  t.alike(Identity.fromSecretKey(id.secretKeyHex).publicKey, id.publicKey, 'from the hex seed')
  const full = Buffer.concat([Buffer.from(id.secretKeyHex, 'hex'), id.publicKey]).toString('hex')
  t.alike(Identity.fromSecretKey(full).publicKey, id.publicKey, 'from the 64-byte secret key')
})

test('bad phrases and secret keys are coded errors', async (t) => {
  const id = Identity.generate()
  const words = id.phrase.split(' ')
  await expectCode(t, () => Identity.fromPhrase(words.slice(0, 12).join(' ')), 'INVALID_PHRASE')
  await expectCode(t, () => Identity.fromPhrase([...words.slice(0, 23), words[0] === 'zoo' ? 'abandon' : 'zoo'].join(' ')), 'INVALID_PHRASE')
  await expectCode(t, () => Identity.fromPhrase('not a phrase'), 'INVALID_PHRASE')
  await expectCode(t, () => Identity.fromSecretKey('xyz'), 'INVALID_SECRET_KEY')
  await expectCode(t, () => Identity.fromSecretKey('ab'.repeat(16)), 'INVALID_SECRET_KEY')
  const wrongPublicHalf = id.secretKeyHex + '00'.repeat(32)
  await expectCode(t, () => Identity.fromSecretKey(wrongPublicHalf), 'INVALID_SECRET_KEY')
})

test('signatures verify only for the signer and the exact message', async (t) => {
  const a = Identity.generate()
  const b = Identity.generate()
  const msg = Buffer.from('hello')
  const sig = a.sign(msg)
  t.ok(Identity.verify(sig, msg, a.publicKey))
  t.absent(Identity.verify(sig, msg, b.publicKey))
  t.absent(Identity.verify(sig, Buffer.from('hellO'), a.publicKey))
  t.absent(Identity.verify(sig.subarray(1), msg, a.publicKey))
  t.is(a.fingerprint.length, 19)
  t.ok(/^Anon-\d{5}$/.test(a.anonName))
})

test('an encrypted account opens with its password; a wrong one is a coded error', async (t) => {
  const storage = await t.tmp()
  const id = Identity.generate()
  await saveAccount(storage, 'work', id, { password: 'correct horse' })
  t.ok(await accountIsEncrypted(storage, 'work'))

  const opened = await loadAccount(storage, 'work', { password: 'correct horse' })
  t.alike(opened.publicKey, id.publicKey)

  await expectCode(t, loadAccount(storage, 'work', { password: 'wrong' }), 'WRONG_PASSWORD')
  await expectCode(t, loadAccount(storage, 'work'), 'PASSWORD_REQUIRED')
  await expectCode(t, loadAccount(storage, 'nobody'), 'ACCOUNT_NOT_FOUND')
  await expectCode(t, saveAccount(storage, 'work', Identity.generate()), 'ACCOUNT_EXISTS')

  const file = await fs.readFile(path.join(storage, 'accounts', 'work', 'identity.key'))
  t.absent(file.includes(Buffer.from(id.secretKeyHex, 'hex')), 'the seed is not on disk in the clear')
})

test('an account without a password is a 0600 file', async (t) => {
  const storage = await t.tmp()
  await saveAccount(storage, 'plain', Identity.generate())
  const stat = await fs.stat(path.join(storage, 'accounts', 'plain', 'identity.key'))
  t.is(stat.mode & 0o777, 0o600)
  t.absent(await accountIsEncrypted(storage, 'plain'))
})

test('several named accounts live in one storage', async (t) => {
  const storage = await t.tmp()
  const a = new Backspace({ storage, account: 'alice', bootstrap: [] })
  const b = new Backspace({ storage, account: 'bob', password: 'pw', bootstrap: [] })
  await a.ready()
  await b.ready()
  t.unlike(a.publicKey, b.publicKey)
  const alice = a.publicKey
  await a.close()
  await b.close()
  t.alike(await listAccounts(storage), ['alice', 'bob'])

  const again = new Backspace({ storage, account: 'alice', bootstrap: [] })
  await again.ready()
  t.alike(again.publicKey, alice, 'the same account opens with the same identity')
  await again.close()

  const locked = new Backspace({ storage, account: 'bob', password: 'nope', bootstrap: [] })
  await expectCode(t, locked.ready(), 'WRONG_PASSWORD')
  await locked.close()

  await expectCode(t, () => new Backspace({ storage, account: '../etc' }), 'INVALID_ACCOUNT_NAME')
})

test('importing a phrase creates the account with that identity', async (t) => {
  const storage = await t.tmp()
  const id = Identity.generate()
  const node = new Backspace({ storage, account: 'restored', phrase: id.phrase, bootstrap: [] })
  await node.ready()
  t.alike(node.publicKey, id.publicKey)
  await node.close()

  const other = new Backspace({ storage, account: 'restored', phrase: Identity.generate().phrase, bootstrap: [] })
  await expectCode(t, other.ready(), 'ACCOUNT_EXISTS')
  await other.close()
})

test('incognito writes nothing to storage', async (t) => {
  const storage = await t.tmp()
  const node = new Backspace({ storage, incognito: true, bootstrap: [] })
  await node.ready()
  t.ok(node.incognito)
  await node.join('somewhere')
  await node.close()
  t.alike(await fs.readdir(storage), [])
})
