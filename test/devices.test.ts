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
import { certifyDevice, revokeDevice, verifyCertificate } from '../lib/identity/device.js'
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
