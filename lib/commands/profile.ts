import { describeMember, plural, roomLabel, sortMembers } from './labels.js'
import { defineCommand } from './types.js'

declare module './types.js' {
  interface CommandMap {
    nick: { name: string }
    status: { text: string }
    away: { message: string }
    back: Record<never, never>
    peers: Record<never, never>
    whoami: Record<never, never>
  }
}

export const nick = defineCommand({
  name: 'nick',
  aliases: ['name'],
  usage: '/nick <name>',
  description: 'set your display name in every room',
  args: [{ name: 'name', kind: 'words' }],
  async run({ node, info }, command) {
    const profile = await node.setProfile({ name: command.name })
    info(`You are now known as ${profile.name}.`)
  }
})

export const status = defineCommand({
  name: 'status',
  usage: '/status [text]',
  description: 'set your status line (none clears it)',
  args: [{ name: 'text', kind: 'text', optional: true, default: '' }],
  async run({ node, info }, command) {
    await node.setProfile({ status: command.text })
    info(command.text ? `Status set: ${command.text}` : 'Status cleared.')
  }
})

export const away = defineCommand({
  name: 'away',
  usage: '/away [message]',
  description: 'mark yourself away',
  args: [{ name: 'message', kind: 'text', optional: true, default: '' }],
  async run({ node, info }, command) {
    await node.setProfile({ away: command.message })
    info(command.message ? `You are away: ${command.message}` : 'You are away.')
  }
})

export const back = defineCommand({
  name: 'back',
  usage: '/back',
  description: 'mark yourself back',
  args: [],
  async run({ node, info }) {
    if (node.profile.away === null) {
      info('You were not away.')
      return
    }
    await node.setProfile({ away: null })
    info('Welcome back.')
  }
})

export const peers = defineCommand({
  name: 'peers',
  aliases: ['members', 'who', 'names'],
  usage: '/peers',
  description: 'list the members of the current room and who is online',
  args: [],
  run({ node, needRoom, info }) {
    const r = needRoom()
    if (!r) return
    const members = sortMembers(r.members())
    const online = members.filter((m) => m.online).length
    info(`${roomLabel(r)}: ${plural(members.length, 'member')} known, ${online} online, ${plural(node.connections, 'connection')}.`)
    for (const m of members) info(describeMember(m))
    return { members }
  }
})

export const whoami = defineCommand({
  name: 'whoami',
  usage: '/whoami',
  description: 'show your name, key and fingerprint',
  args: [],
  run({ node, info }) {
    const p = node.profile
    info(`You are ${p.name || '(no name: /nick sets one)'}  ${node.identity.fingerprint}`)
    info(`Public key ${node.publicKey.toString('hex')}`)
    const device = node.device
    info(`This device ${device.fingerprint}, ${device.primary ? 'primary (it holds the recovery phrase)' : 'linked'}${device.revoked ? ', REVOKED' : ''}`)
    if (p.status) info(`Status: ${p.status}`)
    if (p.away !== null) info(p.away ? `Away: ${p.away}` : 'Away')
    if (node.incognito) info('Incognito: nothing is written to disk.')
  }
})
