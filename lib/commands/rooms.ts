import type { Room } from '../room/room.js'
import { plural, roomLabel } from './labels.js'
import { defineCommand, type RoomListing } from './types.js'

declare module './types.js' {
  interface CommandMap {
    join: { name: string; password?: string }
    create: { label?: string }
    invite: Record<never, never>
    leave: Record<never, never>
    rooms: Record<never, never>
    switch: { target: string }
  }
}

export const join = defineCommand({
  name: 'join',
  aliases: ['j'],
  usage: '/join <room> [password]',
  description: 'join a named room (another password is another room), or a private room by its invite',
  args: [
    { name: 'name', kind: 'word' },
    { name: 'password', kind: 'word', optional: true }
  ],
  async run({ node, info }, command) {
    const joined = await node.join(command.name, command.password === undefined ? {} : { password: command.password })
    const same = node.rooms.filter((r) => r !== joined && r.kind === joined.kind && r.name === joined.name)
    info(`Joined ${roomLabel(joined, node.rooms)}${joined.locked ? ', a password room' : ''}.`)
    if (same.length > 0) {
      info(
        `You are in ${plural(same.length + 1, 'room')} named ${roomLabel({ name: joined.name, kind: joined.kind })}: ` +
          'each password makes its own room; the tag after the name tells them apart.'
      )
    }
    return { room: joined }
  }
})

export const create = defineCommand({
  name: 'create',
  usage: '/create [label]',
  description: 'create a private room and show its invite',
  args: [{ name: 'label', kind: 'text', optional: true }],
  async run({ node, info }, command) {
    const created = await node.createRoom(command.label === undefined ? {} : { name: command.label })
    info(`Created ${roomLabel(created)}. Invite others with: ${created.invite}`)
    return { room: created }
  }
})

export const invite = defineCommand({
  name: 'invite',
  usage: '/invite',
  description: "show the current room's invite link",
  args: [],
  run({ needRoom, info }) {
    const r = needRoom()
    if (!r) return
    info(`Invite to ${roomLabel(r)}: ${r.invite}`)
    if (r.kind === 'named') info('Anyone who knows the room name and password can also join it.')
    info(`Relay link (a relay keeps the room for offline members, and cannot read it): ${r.relayLink}`)
  }
})

export const leave = defineCommand({
  name: 'leave',
  aliases: ['part'],
  usage: '/leave',
  description: 'leave the current room and delete its local history',
  args: [],
  async run({ needRoom, info }) {
    const r = needRoom()
    if (!r) return
    await r.leave()
    info(`Left ${roomLabel(r)}; its local history is deleted.`)
    return { left: r }
  }
})

export const rooms = defineCommand({
  name: 'rooms',
  usage: '/rooms',
  description: 'list joined rooms',
  args: [],
  run({ node, room, info }) {
    const all = node.rooms
    if (all.length === 0) info('No rooms joined. /join <room> joins one.')
    const listing: RoomListing[] = all.map((r, i) => ({
      number: i + 1,
      room: r,
      label: roomLabel(r, all),
      locked: r.locked,
      peers: r.stats.peers,
      shown: r === room
    }))
    for (const l of listing) {
      info(`${l.number}. ${l.label}${l.locked ? ' (password)' : ''}, ${plural(l.peers, 'peer')}${l.shown ? ' (shown)' : ''}`)
    }
    return { rooms: listing }
  }
})

export const switchRoom = defineCommand({
  name: 'switch',
  aliases: ['room'],
  usage: '/switch <name|number>',
  description: 'show another joined room (also Alt+1..9)',
  args: [{ name: 'target', kind: 'words' }],
  run({ node, error }, command) {
    const target = findRoom(node.rooms, command.target)
    if (target) return { room: target }
    error(`No joined room "${command.target}". /rooms lists them.`)
  }
})

function findRoom(rooms: readonly Room[], target: string): Room | undefined {
  const t = target.trim()
  if (/^\d+$/.test(t)) return rooms[Number(t) - 1]
  const bare = t.replace(/^[#~]/, '').toLowerCase()
  return (
    rooms.find((r) => r.name.toLowerCase() === bare) ?? rooms.find((r) => r.name.toLowerCase().startsWith(bare))
  )
}
