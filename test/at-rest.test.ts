import test from 'brittle'
import fs from 'fs/promises'
import path from 'path'
import { randomBytes } from 'crypto'
import { create, createLocalTestnet, receive } from './helpers/index.js'
import { scan } from './helpers/scan.js'
import { deriveNamedRoomSecret, deriveRoomKeys, deriveWriterKeyPair } from '../lib/crypto.js'

test('nothing readable reaches disk', async (t) => {
  const testnet = await createLocalTestnet(t)
  const storageA = await t.tmp()
  const storageB = await t.tmp()
  const marker = () => `marker-${randomBytes(12).toString('hex')}`
  const roomName = `room-${randomBytes(8).toString('hex')}`
  const password = `pw-${randomBytes(8).toString('hex')}`
  const texts = Array.from({ length: 20 }, marker)

  const a = await create(t, testnet, { storage: storageA, password: 'account password' })
  const b = await create(t, testnet, { storage: storageB, password: 'other password' })
  const ra = await a.join(roomName, { password })
  const rb = await b.join(roomName, { password })
  const privateLabel = `label-${randomBytes(8).toString('hex')}`
  const priv = await a.createRoom({ name: privateLabel })
  const privB = await b.join(priv.invite)
  const privText = marker()

  const atB = receive(rb, texts)
  const atBPriv = receive(privB, [privText])
  await Promise.all(texts.map((text) => ra.send(text)))
  await priv.send(privText)
  await Promise.all([atB, atBPriv])
  await rb.send(texts[0]!.replace('marker', 'reply'))

  const secret = await deriveNamedRoomSecret(roomName, password)
  const keys = deriveRoomKeys(secret)
  const needles = new Map<string, Buffer>()
  for (const text of [...texts, privText]) needles.set(`message "${text}"`, Buffer.from(text))
  needles.set('room name', Buffer.from(roomName))
  needles.set('room password', Buffer.from(password))
  needles.set('private room label', Buffer.from(privateLabel))
  needles.set('room secret', secret)
  needles.set('block encryption key', keys.encryptionKey)
  needles.set('channel key', keys.channelKey)
  needles.set('member key', keys.memberKey)
  needles.set('private room invite', Buffer.from(priv.invite))
  for (const [who, node] of [['a', a], ['b', b]] as const) {
    needles.set(`identity seed of ${who}`, node.identity.secretKey.subarray(0, 32))
    needles.set(`writer secret key of ${who}`, deriveWriterKeyPair(node.identity.secretKey, secret).secretKey.subarray(0, 32))
  }

  await a.close()
  await b.close()
  t.alike(await scan(storageA, needles), [], 'nothing readable under the first storage')
  t.alike(await scan(storageB, needles), [], 'nothing readable under the second storage')

  // The scan itself must be able to find things: a plain file with a marker is caught.
  await fs.writeFile(path.join(storageA, 'control'), `xx${texts[3]}xx`)
  t.alike(await scan(storageA, needles), [`message "${texts[3]}" in control`], 'the scan finds a planted marker')
})
