import test from 'brittle'
import fs from 'fs/promises'
import path from 'path'
import b4a from 'b4a'
import c from 'compact-encoding'
import Hyperswarm from 'hyperswarm'
import HyperDHT from 'hyperdht'
import Protomux from 'protomux'
import { create, createLocalTestnet, manualClock, once, type Testnet } from './helpers/index.js'
import { expectCode } from './helpers/expect.js'
import { scan } from './helpers/scan.js'
import {
  Backspace,
  Identity,
  accountIsEncrypted,
  accountIsLinked,
  accountPublicKey,
  listAccounts,
  loadAccount,
  type BackspaceOptions,
  type DeviceRequest
} from '../lib/index.js'
import { deriveAccountKey, hash, keyPairFromSeed, randomBytes, seal, sign } from '../lib/crypto.js'
import { parseDeviceLink } from '../lib/links.js'
import {
  PAIRING_PROTOCOL,
  derivePairingKeys,
  pairingChannelId,
  requestSignable
} from '../lib/identity/pairing.js'
import { pairingFrame, type PairingFrame } from '../lib/identity/pairing-messages.js'
import { certifyDevice, encodeCertificate as encodeCert, revokeDevice, verifyCertificate } from '../lib/identity/device.js'
import * as cryptoModule from '../lib/crypto.js'
import { DeviceRegistry } from '../lib/identity/devices.js'

/** A node that starts with `link` and is not awaited: its `ready()` is what the test checks. */
async function linking(t: Parameters<typeof create>[0], testnet: Testnet, link: string, opts: BackspaceOptions = {}) {
  const node = new Backspace({ storage: await t.tmp(), bootstrap: testnet.bootstrap, link, ...opts })
  t.teardown(() => node.close())
  return node
}

/** Answers the next `device-request` on `node` with `answer`, after checking it. */
function answer(node: Backspace, fn: (req: DeviceRequest) => Promise<unknown>): Promise<DeviceRequest> {
  return new Promise((resolve, reject) => {
    node.once('device-request', (req) => {
      fn(req).then(() => resolve(req), reject)
    })
  })
}

test('a device links by approval, without the identity secret', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  await a.setProfile({ name: 'ann' })
  await a.join('lobby')
  const phrase = a.identity.phrase

  const invite = await a.devices.invite()
  t.ok(invite.link.startsWith('backspace-device:'), 'a device link')
  t.ok(invite.expiresAt > Date.now() + 9 * 60 * 1000 && invite.expiresAt <= Date.now() + 10 * 60 * 1000 + 1000, 'expires in 10 minutes')

  const storage = await t.tmp()
  const b = new Backspace({ storage, bootstrap: testnet.bootstrap, link: invite.link, deviceName: 'laptop', password: 'pw' })
  t.teardown(() => b.close())
  const shown = b.linking!.fingerprint
  const updates = once<[unknown[]]>(a, 'device-update')
  const asked = answer(a, async (req) => {
    t.is(req.fingerprint, shown, 'A sees the fingerprint B shows')
    t.is(req.name, 'laptop')
    const info = await req.approve()
    t.absent(info.primary)
    t.is(info.name, 'laptop')
  })
  await b.ready()
  await asked
  await updates

  t.alike(b.publicKey, a.publicKey, 'the same identity')
  t.unlike(b.device.key, a.device.key, 'another device')
  t.absent(b.device.primary)
  t.ok(a.device.primary)
  t.is(b.linking, null)
  t.absent(b.identity.canSign, 'B cannot sign as the identity')
  await expectCode(t, () => b.identity.sign(b4a.from('x')), 'NOT_ALLOWED')
  await expectCode(t, () => b.identity.phrase, 'NOT_ALLOWED')
  t.ok(verifyCertificate(b.deviceKeys.certificate), 'B holds a certificate A signed')
  t.alike(b.deviceKeys.certificate.identity, a.publicKey)
  t.alike(b.deviceKeys.identityKey, a.publicKey)
  t.alike(b.accountKey, a.accountKey, 'the account key is shared')
  t.is(b.profile.name, 'ann', 'the profile came with the grant')

  const listA = await a.devices.list()
  const listB = await b.devices.list()
  t.is(listA.length, 2)
  t.is(listB.length, 2, 'B learns the identity other devices')
  t.ok(listA.find((d) => d.current)!.primary)
  t.absent(listB.find((d) => d.current)!.primary)

  t.ok(await accountIsLinked(storage, 'default'))
  t.ok(await accountIsEncrypted(storage, 'default'), 'the password protects the linked account')
  t.alike(await accountPublicKey(storage, 'default'), a.publicKey)
  await b.close()

  const seed = Buffer.from(Identity.fromPhrase(phrase).secretKeyHex, 'hex')
  const hits = await scan(
    storage,
    new Map([
      ['identity seed', seed],
      ['identity secret key', Identity.fromPhrase(phrase).secretKey],
      ['phrase', Buffer.from(phrase)],
      ['first words', Buffer.from(phrase.split(' ').slice(0, 3).join(' '))]
    ])
  )
  t.alike(hits, [], 'no identity secret anywhere in B storage')

  const again = new Backspace({ storage, bootstrap: testnet.bootstrap, password: 'pw' })
  t.teardown(() => again.close())
  await again.ready()
  t.alike(again.publicKey, a.publicKey, 'the linked account opens again')
  t.alike(again.device.key, b.device.key, 'as the same device')
  t.is((await again.devices.list()).length, 2, 'with the device list it was given')
  await expectCode(t, again.devices.invite(), 'NOT_ALLOWED')
})

test('a denied link is a coded error, and the link is spent', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const { link } = await a.devices.invite()
  const b = await linking(t, testnet, link)
  const denied = answer(a, (req) => req.deny())
  await expectCode(t, b.ready(), 'DEVICE_LINK_DENIED')
  const req = await denied
  await expectCode(t, req.approve(), 'NOT_ALLOWED')
  t.is((await a.devices.list()).length, 1, 'nothing was certified')

  const retry = await linking(t, testnet, link)
  let asked = 0
  a.on('device-request', () => asked++)
  await expectCode(t, retry.ready(), 'DEVICE_LINK_EXPIRED')
  t.is(asked, 0, 'a spent link asks nobody')
})

test('a link works once', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const { link } = await a.devices.invite()
  const b = await linking(t, testnet, link)
  const approved = answer(a, (req) => req.approve())
  await b.ready()
  await approved
  let asked = 0
  a.on('device-request', () => asked++)
  const second = await linking(t, testnet, link)
  await expectCode(t, second.ready(), 'DEVICE_LINK_EXPIRED')
  t.is(asked, 0)
  t.is((await a.devices.list()).length, 2, 'one device was added')
})

test('an expired link is refused by both sides', async (t) => {
  const testnet = await createLocalTestnet(t)
  const clock = manualClock()
  const a = await create(t, testnet, { now: clock.now })
  const { link, expiresAt } = await a.devices.invite()

  // The new device refuses an expired link by its own clock, before any network.
  const late = await linking(t, testnet, link, { now: () => expiresAt + 1 })
  await expectCode(t, late.ready(), 'DEVICE_LINK_EXPIRED')

  // The approver stops answering once its clock passes the expiry.
  clock.advance(11 * 60 * 1000)
  let asked = 0
  a.on('device-request', () => asked++)
  const b = await linking(t, testnet, link)
  await expectCode(t, b.ready(), 'DEVICE_LINK_EXPIRED')
  t.is(asked, 0, 'no request reached the user')
})

test('a request nobody listens for is denied', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const { link } = await a.devices.invite()
  const b = await linking(t, testnet, link)
  await expectCode(t, b.ready(), 'DEVICE_LINK_DENIED')
})

test('bad links, and links into an existing account, are coded errors', async (t) => {
  const testnet = await createLocalTestnet(t)
  await expectCode(t, () => new Backspace({ storage: '/nonexistent', link: 'backspace-device:yyyy' }), 'DEVICE_LINK_INVALID')
  await expectCode(t, () => new Backspace({ storage: '/nonexistent', link: 'nonsense' }), 'DEVICE_LINK_INVALID')
  const a = await create(t, testnet)
  const { link } = await a.devices.invite()
  await expectCode(t, () => new Backspace({ incognito: true, link }), 'INVALID_ARGUMENT')
  await expectCode(t, a.join(link), 'INVALID_INVITE')
  const storage = await t.tmp()
  const existing = new Backspace({ storage, bootstrap: [] })
  await existing.ready()
  await existing.close()
  const b = new Backspace({ storage, bootstrap: testnet.bootstrap, link })
  await expectCode(t, b.ready(), 'ACCOUNT_EXISTS')
  await b.close()
})

test('closing a device that waits for approval ends the wait', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const { link } = await a.devices.invite()
  const b = await linking(t, testnet, link)
  const asked = once<[DeviceRequest]>(a, 'device-request')
  const opening = b.ready()
  const [req] = await asked
  await b.close()
  await expectCode(t, opening, 'NODE_CLOSED')
  await expectCode(t, req.approve(), 'DEVICE_LINK_FAILED')
})

/** A peer outside Backspace: its own swarm on the testnet, speaking raw protomux. */
async function rawPeer(t: Parameters<typeof create>[0], testnet: Testnet, topic: Buffer) {
  const dht = new HyperDHT({ bootstrap: testnet.bootstrap, host: '127.0.0.1', ephemeral: true, firewalled: false })
  const swarm = new Hyperswarm({ dht })
  t.teardown(() => swarm.destroy())
  const conn = new Promise<Hyperswarm.Connection>((resolve) => {
    swarm.on('connection', (c: Hyperswarm.Connection) => {
      c.on('error', () => {})
      resolve(c)
    })
  })
  swarm.join(topic, { server: false, client: true })
  return conn
}

interface RawChannel {
  opened: Promise<boolean>
  frames: Buffer[]
  send(box: Buffer): void
}

function rawChannel(conn: Hyperswarm.Connection, id: Buffer): RawChannel {
  const frames: Buffer[] = []
  let opened!: (v: boolean) => void
  const result: Partial<RawChannel> = { frames, opened: new Promise((r) => (opened = r)) }
  const channel = Protomux.from(conn).createChannel({
    protocol: PAIRING_PROTOCOL,
    id,
    onopen: () => opened(true),
    onclose: () => opened(false)
  })!
  const message = channel.addMessage({ encoding: c.raw, onmessage: (b: Buffer) => frames.push(b) })
  channel.open()
  result.send = (box) => message.send(box)
  return result as RawChannel
}

function sealed(frame: PairingFrame, key: Buffer): Buffer {
  return seal(c.encode(pairingFrame, frame), key)
}

test('a stranger with the topic but not the secret gets nothing, and A goes on', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  let asked = 0
  a.on('device-request', () => asked++)
  const { link } = await a.devices.invite()
  const { topic } = derivePairingKeys(parseDeviceLink(link).secret)

  // The topic is what a DHT node sees. Without the secret, no channel id opens.
  const conn = await rawPeer(t, testnet, topic)
  const wrong = randomBytes(32)
  const guesses = [
    rawChannel(conn, pairingChannelId(wrong, conn.handshakeHash!)),
    rawChannel(conn, hash([topic])),
    rawChannel(conn, topic)
  ]
  for (const g of guesses) g.send(randomBytes(100))
  const opened = await Promise.all(
    guesses.map((g) => Promise.race([g.opened, new Promise<boolean>((r) => setTimeout(() => r(false), 1000))]))
  )
  t.alike(opened, [false, false, false], 'no channel opens without the secret')
  t.ok(guesses.every((g) => g.frames.length === 0), 'A sent nothing')
  t.is(asked, 0)

  // The link still works for the real device.
  const approved = answer(a, (req) => req.approve())
  const b = await linking(t, testnet, link)
  await b.ready()
  await approved
  t.alike(b.publicKey, a.publicKey)
})

test('garbage, wrong keys and replayed requests from a link holder get no grant', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const requests: DeviceRequest[] = []
  a.on('device-request', (req) => requests.push(req))
  const { link } = await a.devices.invite()
  const parsed = parseDeviceLink(link)
  const keys = derivePairingKeys(parsed.secret)

  const device = keyPairFromSeed(randomBytes(32))
  const request = (handshake: Buffer): PairingFrame => ({
    type: 'request',
    device: device.publicKey,
    name: 'mallory',
    signature: sign(requestSignable(keys.id, handshake, device.publicKey, 'mallory'), device.secretKey)
  })

  // Each attack on its own connection's channel: A closes the channel after a bad frame.
  const attacks: Array<[string, (hh: Buffer) => Buffer]> = [
    ['garbage', () => randomBytes(200)],
    ['empty', () => b4a.alloc(0)],
    ['oversized', () => randomBytes(100_000)],
    ['sealed with the wrong key', (hh) => sealed(request(hh), randomBytes(32))],
    ['sealed with the reply key', (hh) => sealed(request(hh), keys.replyKey)],
    ['a grant sent to the approver', () => sealed({ type: 'grant', certificate: randomBytes(100), accountKey: randomBytes(32), profile: { name: '', status: '', away: null }, rooms: [], devices: [], revocations: [] }, keys.requestKey)],
    ['a request replayed from another connection', () => sealed(request(randomBytes(32)), keys.requestKey)],
    ['a request with a forged signature', (hh) => sealed({ ...(request(hh) as Extract<PairingFrame, { type: 'request' }>), signature: randomBytes(64) }, keys.requestKey)],
    ['a done before any request', () => sealed({ type: 'done' }, keys.requestKey)]
  ]
  const conn = await rawPeer(t, testnet, keys.topic)
  const hh = conn.handshakeHash!
  for (const [what, make] of attacks) {
    const ch = rawChannel(conn, pairingChannelId(parsed.secret, hh))
    t.ok(await ch.opened, `${what}: the channel opens for a link holder`)
    const closed = new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (Protomux.from(conn).opened({ protocol: PAIRING_PROTOCOL, id: pairingChannelId(parsed.secret, hh) })) return
        clearInterval(poll)
        resolve()
      }, 20)
    })
    ch.send(make(hh))
    await closed
    t.is(ch.frames.length, 0, `${what}: no answer`)
  }
  t.is(requests.length, 0, 'no request reached the user')
  t.is((a.devices as unknown as { rejected: number }).rejected, attacks.length, 'each was counted')

  // A still links the real device, and only it.
  const b = await linking(t, testnet, link)
  const approved = new Promise<void>((resolve) => a.once('device-request', (req) => void req.approve().then(() => resolve())))
  await b.ready()
  await approved

  // A valid request after that gets "used", never a grant.
  const late = rawChannel(conn, pairingChannelId(parsed.secret, hh))
  t.ok(await late.opened)
  late.send(sealed(request(hh), keys.requestKey))
  while (late.frames.length === 0) await new Promise((r) => setTimeout(r, 20))
  const reply = c.decode(pairingFrame, cryptoModule.unseal(late.frames[0]!, keys.replyKey)!)
  t.is(reply.type, 'gone', 'the spent link answers "used"')
  t.is(requests.length, 1, 'only the real device asked')
  t.is((await a.devices.list()).length, 2)
})

test('the new device accepts a certificate only from the identity that made the link', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const { link } = await a.devices.invite()
  const parsed = parseDeviceLink(link)
  const keys = derivePairingKeys(parsed.secret)

  // Someone else who holds the link answers too, with a valid certificate of another identity.
  const mallory = Identity.generate()
  const dht = new HyperDHT({ bootstrap: testnet.bootstrap, host: '127.0.0.1', ephemeral: true, firewalled: false })
  const swarm = new Hyperswarm({ dht })
  t.teardown(() => swarm.destroy())
  let forged!: () => void
  const sent = new Promise<void>((r) => (forged = r))
  swarm.on('connection', (conn: Hyperswarm.Connection) => {
    conn.on('error', () => {})
    const ch = rawChannel(conn, pairingChannelId(parsed.secret, conn.handshakeHash!))
    const poll = setInterval(() => {
      const box = ch.frames.shift()
      if (!box) return
      clearInterval(poll)
      const { unseal } = cryptoModule
      const req = c.decode(pairingFrame, unseal(box, keys.requestKey)!)
      if (req.type !== 'request') return
      const cert = certifyDevice(mallory, req.device, { createdAt: Date.now(), primary: false })
      ch.send(sealed({ type: 'grant', certificate: encodeCert(cert), accountKey: randomBytes(32), profile: { name: 'mallory', status: '', away: null }, rooms: [], devices: [], revocations: [] }, keys.replyKey))
      forged()
    }, 10)
  })
  await swarm.join(keys.topic, { server: true, client: false }).flushed()

  const b = await linking(t, testnet, link)
  const internals = b as unknown as { linkRequest: { rejected: number } | null }
  a.once('device-request', (req) => {
    void (async () => {
      await sent
      while ((internals.linkRequest?.rejected ?? 0) < 1) await new Promise((r) => setTimeout(r, 10))
      await req.approve()
    })()
  })
  await b.ready()
  t.alike(b.publicKey, a.publicKey, 'the forged grant was dropped; the real one was taken')
  t.unlike(b.publicKey, mallory.publicKey)
  t.is(b.profile.name, '', "the forger's profile was not taken")
})

// The key file format before devices (v1), written the way that build wrote it.
async function writeV1KeyFile(storage: string, name: string, identity: Identity, password?: string): Promise<string> {
  const dir = path.join(storage, 'accounts', name)
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  const seed = Buffer.from(identity.secretKeyHex, 'hex')
  let encrypted: { salt: Buffer; opslimit: number; memlimit: number; box: Buffer } | null = null
  if (password) {
    const salt = randomBytes(cryptoModule.PWHASH_SALTBYTES)
    const params = cryptoModule.PWHASH_INTERACTIVE
    const key = await cryptoModule.passwordHash(Buffer.from(password.normalize('NFKC')), salt, params)
    encrypted = { salt, ...params, box: seal(seed, key) }
  }
  const state = c.state()
  const fields = (enc: 'preencode' | 'encode') => {
    c.uint[enc](state, 1)
    c.uint[enc](state, encrypted ? 1 : 0)
    c.fixed32[enc](state, identity.publicKey)
    c.uint[enc](state, 1_700_000_000_000)
    if (encrypted) {
      c.buffer[enc](state, encrypted.salt)
      c.uint[enc](state, encrypted.opslimit)
      c.uint[enc](state, encrypted.memlimit)
      c.buffer[enc](state, encrypted.box)
    } else {
      c.fixed32[enc](state, seed)
    }
  }
  fields('preencode')
  state.buffer = b4a.alloc(state.end)
  state.start = 0
  fields('encode')
  const file = path.join(dir, 'identity.key')
  await fs.writeFile(file, state.buffer, { mode: 0o600 })
  return file
}

test('a v1 key file loads, becomes a primary device, and is rewritten as v2', async (t) => {
  const storage = await t.tmp()
  const plain = Identity.generate()
  const locked = Identity.generate()
  const plainFile = await writeV1KeyFile(storage, 'plain', plain)
  const lockedFile = await writeV1KeyFile(storage, 'locked', locked, 'pw')
  const before = await fs.readFile(plainFile)
  t.is(before[0], 1, 'written as v1')

  t.alike(await listAccounts(storage), ['locked', 'plain'])
  t.ok(await accountIsEncrypted(storage, 'locked'))
  t.absent(await accountIsEncrypted(storage, 'plain'))
  t.alike(await accountPublicKey(storage, 'locked'), locked.publicKey, 'v1 public key readable without password')

  const node = new Backspace({ storage, account: 'plain', bootstrap: [] })
  await node.ready()
  t.alike(node.publicKey, plain.publicKey, 'the same identity')
  t.ok(node.device.primary, 'a primary device')
  t.unlike(node.device.key, plain.publicKey, 'with its own device key')
  t.alike(node.accountKey, deriveAccountKey(plain.secretKey))
  const device = node.device.key
  await node.close()
  const after = await fs.readFile(plainFile)
  t.is(after[0], 2, 'rewritten as v2')
  t.is((await fs.stat(plainFile)).mode & 0o777, 0o600, 'still 0600')
  t.alike((await fs.readdir(path.dirname(plainFile))).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left')

  const again = new Backspace({ storage, account: 'plain', bootstrap: [] })
  await again.ready()
  t.alike(again.device.key, device, 'the upgrade is kept: the same device next time')
  await again.close()

  await expectCode(t, loadAccount(storage, 'locked', { password: 'wrong' }), 'WRONG_PASSWORD')
  t.is((await fs.readFile(lockedFile))[0], 1, 'a wrong password upgrades nothing')
  t.alike((await loadAccount(storage, 'locked', { password: 'pw' })).publicKey, locked.publicKey)
  const upgraded = await fs.readFile(lockedFile)
  t.is(upgraded[0], 2, 'the encrypted one too')
  t.ok(await accountIsEncrypted(storage, 'locked'), 'still encrypted')
  t.absent(upgraded.includes(Buffer.from(locked.secretKeyHex, 'hex')), 'the seed is not in the clear')
  await expectCode(t, loadAccount(storage, 'locked', { password: 'wrong' }), 'WRONG_PASSWORD')
  t.alike((await loadAccount(storage, 'locked', { password: 'pw' })).phrase, locked.phrase, 'opens with the same password')
})

test('restoring from the phrase makes a new primary device of the same identity', async (t) => {
  const a = new Backspace({ storage: await t.tmp(), bootstrap: [] })
  await a.ready()
  t.teardown(() => a.close())
  const b = new Backspace({ storage: await t.tmp(), bootstrap: [], phrase: a.identity.phrase })
  await b.ready()
  t.teardown(() => b.close())
  t.alike(b.publicKey, a.publicKey, 'the same identity')
  t.unlike(b.device.key, a.device.key, 'a different device key')
  t.ok(b.device.primary, 'primary: it holds the phrase')
  t.alike(b.accountKey, a.accountKey, 'the same account key')
  t.ok(b.identity.canSign)
  const c2 = new Backspace({ storage: await t.tmp(), bootstrap: [], secretKey: a.identity.secretKeyHex })
  await c2.ready()
  t.teardown(() => c2.close())
  t.unlike(c2.device.key, b.device.key, 'the hex key too makes a new device')
  t.alike(c2.accountKey, a.accountKey)
})

test('incognito has an ephemeral primary device', async (t) => {
  const node = new Backspace({ incognito: true, bootstrap: [] })
  await node.ready()
  t.teardown(() => node.close())
  t.ok(node.device.primary)
  t.ok(node.device.current)
  t.is((await node.devices.list()).length, 1)
  await expectCode(t, node.devices.invite(), 'INCOGNITO')
})

/** Links a new device to `a`, approving it, and returns it ready. */
async function linked(t: Parameters<typeof create>[0], testnet: Testnet, a: Backspace, opts: BackspaceOptions = {}): Promise<Backspace> {
  const { link } = await a.devices.invite()
  const node = await linking(t, testnet, link, opts)
  const approved = answer(a, (req) => req.approve())
  await node.ready()
  await approved
  return node
}

test('revoking: the primary revokes a linked device, and every open room hears of it', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await linked(t, testnet, a, { deviceName: 'phone' })
  const rooms = [await a.join('one'), await a.join('two')]
  const carried: Buffer[] = []
  for (const room of rooms) {
    room.applyRevocation = async (rev) => {
      carried.push(rev.device)
    }
  }
  const updated = once<[Array<{ key: Buffer; revoked: boolean }>]>(a, 'device-update')
  await a.devices.revoke(b.device.fingerprint)
  const [list] = await updated
  t.ok(list.find((d) => b4a.equals(d.key, b.device.key))!.revoked, 'device-update lists it revoked')
  t.alike(carried, [b.device.key, b.device.key], 'each open room carried the revocation')
  const revocation = a.deviceRegistry.isRevoked(b.device.key)!
  t.ok(revocation, 'recorded')
  t.is(revocation.by, null, 'signed by the identity')
  await a.devices.revoke(b.device.key)
  t.is(carried.length, 2, 'revoking again does nothing')

  await expectCode(t, a.devices.revoke(randomBytes(32)), 'DEVICE_NOT_FOUND')
  await expectCode(t, a.devices.revoke('not-a-device'), 'DEVICE_NOT_FOUND')
  await expectCode(t, a.devices.revoke(a.device.key), 'NOT_ALLOWED')

  // The list is kept across restarts.
  const storage = (a as unknown as { storage: string }).storage
  await a.close()
  const again = new Backspace({ storage, bootstrap: [] })
  t.teardown(() => again.close())
  await again.ready()
  const kept = (await again.devices.list()).find((d) => b4a.equals(d.key, b.device.key))
  t.ok(kept?.revoked, 'the revocation survives a restart')
})

test('revoking: a linked device cannot revoke the primary, but may log itself out', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const b = await linked(t, testnet, a)
  const c2 = await linked(t, testnet, a)
  t.ok((await b.devices.list()).find((d) => d.primary), 'B knows the primary device')
  await expectCode(t, b.devices.revoke(a.device.key), 'NOT_ALLOWED')
  t.absent(b.deviceRegistry.isRevoked(a.device.key))

  // C learnt of B when it was linked: a linked device may revoke another linked one.
  await c2.devices.revoke(b.device.key)
  const rev = c2.deviceRegistry.isRevoked(b.device.key)!
  t.alike(rev.by?.device, c2.device.key, 'signed by the linked device, with its certificate')
  // The account log carries it to the primary, which accepts it.
  while (!a.deviceRegistry.isRevoked(b.device.key)) await once(a as never, 'device-update')
  t.alike(a.deviceRegistry.isRevoked(b.device.key)!.signature, rev.signature, 'the primary accepts it, through the account log')

  // A forged one: C's key signing a revocation of the primary is refused everywhere.
  const forged = revokeDevice({ device: c2.deviceKeys.keyPair, certificate: c2.deviceKeys.certificate }, a.device.key, Date.now())
  t.absent(a.deviceRegistry.revoke(forged), 'a linked device cannot revoke the primary, even by hand')
  t.absent(c2.deviceRegistry.revoke(forged))

  t.absent(c2.device.revoked)
  await c2.devices.revoke(c2.device.key)
  t.ok(c2.device.revoked, 'a linked device revoking itself is logged out')
})

test('the registry keeps only what verifies and belongs to the identity', async (t) => {
  const identity = Identity.generate()
  const primaryKey = keyPairFromSeed(randomBytes(32))
  const own = certifyDevice(identity, primaryKey.publicKey, { createdAt: 1, primary: true })
  const file = path.join(await t.tmp(), 'devices')
  const key = randomBytes(32)
  let changes = 0
  const registry = new DeviceRegistry({ own, file, key, onchange: () => changes++ })

  const linkedKey = keyPairFromSeed(randomBytes(32))
  const linkedCert = certifyDevice(identity, linkedKey.publicKey, { createdAt: 2, primary: false, name: 'tab' })
  const other = certifyDevice(Identity.generate(), randomBytes(32), { createdAt: 2, primary: false })
  t.absent(registry.add(other), 'another identity')
  t.absent(registry.add({ ...linkedCert, name: 'renamed' }), 'a certificate altered after signing')
  t.ok(registry.add(linkedCert))
  t.absent(registry.add(linkedCert), 'known already')
  t.is(changes, 1)

  // A linked device's revocation of a device not known yet holds only until it turns out primary.
  const second = keyPairFromSeed(randomBytes(32))
  const secondPrimary = certifyDevice(identity, second.publicKey, { createdAt: 3, primary: true })
  const early = revokeDevice({ device: linkedKey, certificate: linkedCert }, second.publicKey, 10)
  t.ok(registry.revoke(early), 'accepted while the target is unknown')
  t.ok(registry.add(secondPrimary))
  t.is(registry.isRevoked(second.publicKey), null, 'void once the target is known to be primary')

  const byIdentity = revokeDevice({ identity }, linkedKey.publicKey, 20)
  const later = revokeDevice({ identity }, linkedKey.publicKey, 30)
  t.ok(registry.revoke(later))
  t.ok(registry.revoke(byIdentity), 'an earlier revocation replaces a later one')
  t.absent(registry.revoke(later), 'and the later one does not come back')
  t.is(registry.isRevoked(linkedKey.publicKey)!.revokedAt, 20)
  const afterRevoked = revokeDevice({ device: linkedKey, certificate: linkedCert }, randomBytes(32), 25)
  t.absent(registry.revoke(afterRevoked), 'a device revoked before it signed cannot revoke')
  t.absent(registry.revoke({ ...byIdentity, revokedAt: 5 }), 'a revocation altered after signing')

  await registry.save()
  const bytes = await fs.readFile(file)
  t.absent(bytes.includes(Buffer.from('tab')), 'device names are sealed on disk')
  const reloaded = new DeviceRegistry({ own, file, key })
  await reloaded.load()
  t.alike(reloaded.list(), registry.list(), 'saved and loaded')
  await expectCode(t, new DeviceRegistry({ own, file, key: randomBytes(32) }).load(), 'CORRUPT_STATE')
})

test('an approver that closes before answering tells the new device, and its answer fails', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const { link } = await a.devices.invite()
  const b = await linking(t, testnet, link)
  const asked = once<[DeviceRequest]>(a, 'device-request')
  const opening = b.ready()
  const [req] = await asked
  t.is(a.devices.pending, req, 'the request waits for an answer')
  await a.close()
  await expectCode(t, opening, 'DEVICE_LINK_EXPIRED')
  await expectCode(t, req.approve(), 'NODE_CLOSED')
})

test('a request with a key the identity already lists gets no second certificate', async (t) => {
  const testnet = await createLocalTestnet(t)
  const a = await create(t, testnet)
  const { link } = await a.devices.invite()
  const parsed = parseDeviceLink(link)
  const keys = derivePairingKeys(parsed.secret)
  const conn = await rawPeer(t, testnet, keys.topic)
  const hh = conn.handshakeHash!
  const ch = rawChannel(conn, pairingChannelId(parsed.secret, hh))
  t.ok(await ch.opened)
  // A listed key: this node's own device, whose secret the test can reach.
  const own = a.deviceKeys.keyPair
  const signature = sign(requestSignable(keys.id, hh, own.publicKey, ''), own.secretKey)
  const asked = once<[DeviceRequest]>(a, 'device-request')
  ch.send(sealed({ type: 'request', device: own.publicKey, name: '', signature }, keys.requestKey))
  const [req] = await asked
  await expectCode(t, req.approve(), 'DEVICE_LINK_FAILED')
  t.is((await a.devices.list()).length, 1, 'the list is unchanged')
  t.is(ch.frames.length, 0, 'no grant was sent')
})
