// The moderation commands of Backspace.me: each calls `room.moderate`, which refuses with
// NOT_ALLOWED without the role. Commands that target a member take a partial name that
// matches one member, or a fingerprint.
import { BackspaceError } from '../errors.js'
import type { Member } from '../types.js'
import type { Room } from '../room/room.js'
import { defineCommand, type CommandScope } from './types.js'

declare module './types.js' {
  interface CommandMap {
    topic: { text: string }
    announce: { text: string }
    welcome: { text: string }
    lock: { password: string }
    unlock: Record<never, never>
    private: { state: string }
    kick: { who: string; reason: string }
    ban: { who: string; reason: string }
    unban: { who: string }
    op: { who: string }
    deop: { who: string }
    slow: { seconds: string }
    maxusers: { count: string }
    ttl: { hours: string }
    anon: { state: string }
    files: { state: string }
    wipe: { confirm: string }
  }
}

/**
 * The one member `who` names: a fingerprint (with or without dashes, or its start), else a
 * name or the start of one that matches exactly one member.
 */
export function findMember(members: readonly Member[], who: string): Member {
  const needle = who.trim().toLowerCase()
  const hex = needle.replace(/[\s-]/g, '')
  if (/^[0-9a-f]{4,}$/.test(hex)) {
    const byPrint = members.filter((m) => m.fingerprint.replace(/-/g, '').toLowerCase().startsWith(hex) || m.key.toString('hex').startsWith(hex))
    if (byPrint.length === 1) return byPrint[0]!
  }
  const exact = members.filter((m) => m.name.toLowerCase() === needle)
  if (exact.length === 1) return exact[0]!
  const partial = members.filter((m) => m.name.toLowerCase().startsWith(needle))
  if (partial.length === 1) return partial[0]!
  if (partial.length > 1 || exact.length > 1) throw BackspaceError.INVALID_ARGUMENT(`"${who}" matches ${partial.length} members: use a fingerprint`)
  throw BackspaceError.INVALID_ARGUMENT(`no member matches "${who}"`)
}

function onOff(state: string): boolean {
  const s = state.trim().toLowerCase()
  if (s === '' || s === 'on' || s === 'yes' || s === 'true') return true
  if (s === 'off' || s === 'no' || s === 'false') return false
  throw BackspaceError.INVALID_ARGUMENT('say on or off')
}

function whole(value: string, what: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw BackspaceError.INVALID_ARGUMENT(`${what} must be a whole number`)
  return n
}

function target(room: Room, who: string): Member {
  return findMember(room.members(), who)
}

const label = (m: Member) => `${m.name || 'someone'} (${m.fingerprint})`

// A room command: the room or a notice to join one, then the action.
function inRoom(act: (room: Room, scope: CommandScope) => Promise<void>) {
  return async (scope: CommandScope) => {
    const room = scope.needRoom()
    if (room) await act(room, scope)
  }
}

const textCommand = (name: 'topic' | 'announce' | 'welcome', description: string, done: string) =>
  defineCommand({
    name,
    usage: `/${name} [text]`,
    description,
    args: [{ name: 'text', kind: 'text', optional: true, default: '' }],
    run: (scope, command) =>
      inRoom(async (room, { info }) => {
        await room.moderate[name](command.text)
        info(command.text ? `${done}: ${command.text}` : `${done} cleared.`)
      })(scope)
  })

export const topic = textCommand('topic', 'set the room topic', 'Topic')
export const announce = textCommand('announce', 'set the announcement shown to every member', 'Announcement')
export const welcome = textCommand('welcome', 'set the welcome shown to each member who joins', 'Welcome')

export const lock = defineCommand({
  name: 'lock',
  usage: '/lock [password]',
  description: 'lock the room: nobody new may join (with a password, those who know it may)',
  args: [{ name: 'password', kind: 'text', optional: true, default: '' }],
  run: (scope, command) =>
    inRoom(async (room, { info }) => {
      await room.moderate.lock(command.password || undefined)
      info(command.password ? 'The room is locked; newcomers who know the password may enter.' : 'The room is locked.')
    })(scope)
})

export const unlock = defineCommand({
  name: 'unlock',
  usage: '/unlock',
  description: 'unlock the room',
  args: [],
  run: (scope) => inRoom(async (room, { info }) => (await room.moderate.unlock(), info('The room is unlocked.')))(scope)
})

export const privateRoom = defineCommand({
  name: 'private',
  usage: '/private [on|off]',
  description: 'keep the room out of the directory',
  args: [{ name: 'state', kind: 'word', optional: true }],
  build: (values) => ({ state: (values.state as string | undefined) ?? '' }),
  run: (scope, command) =>
    inRoom(async (room, { info }) => {
      const on = onOff(command.state)
      await room.moderate.setPrivate(on)
      info(on ? 'The room is private.' : 'The room is listed.')
    })(scope)
})

const removal = (name: 'kick' | 'ban', description: string, done: string) =>
  defineCommand({
    name,
    usage: `/${name} <name or fingerprint> [reason]`,
    description,
    args: [
      { name: 'who', kind: 'word' },
      { name: 'reason', kind: 'text', optional: true, default: '' }
    ],
    run: (scope, command) =>
      inRoom(async (room, { info }) => {
        const m = target(room, command.who)
        await room.moderate[name](m.key, command.reason || undefined)
        info(`${label(m)} ${done}.`)
        // Said plainly where it matters: in a named room the keys come from the name and
        // password, so no removal can stop someone who knows them from reading.
        if (room.kind === 'named') info(NAMED_LIMIT[name])
      })(scope)
  })

const NAMED_LIMIT = {
  kick: 'In a room opened by name and password, anyone who knows them can still read it and come back; /ban stops their messages from being shown.',
  ban: 'In a room opened by name and password, anyone who knows them can still read it; the ban stops their messages from being shown to anyone.'
} as const

export const kick = removal('kick', 'kick a member out of the room', 'was kicked')
export const ban = removal('ban', 'ban a member: their messages are dropped by everyone', 'was banned')

const grant = (name: 'unban' | 'op' | 'deop', description: string, done: string) =>
  defineCommand({
    name,
    usage: `/${name} <name or fingerprint>`,
    description,
    args: [{ name: 'who', kind: 'word' }],
    run: (scope, command) =>
      inRoom(async (room, { info }) => {
        const m = target(room, command.who)
        await room.moderate[name](m.key)
        info(`${label(m)} ${done}.`)
      })(scope)
  })

export const unban = grant('unban', 'lift a ban', 'is no longer banned')
export const op = grant('op', 'make a member an operator', 'is now an operator')
export const deop = grant('deop', 'take operator status away', 'is no longer an operator')

export const slow = defineCommand({
  name: 'slow',
  usage: '/slow <seconds>',
  description: 'slow mode: seconds between messages per member (0 turns it off)',
  args: [{ name: 'seconds', kind: 'word' }],
  run: (scope, command) =>
    inRoom(async (room, { info }) => {
      const s = whole(command.seconds, 'seconds')
      await room.moderate.set({ slowMode: s })
      info(s > 0 ? `Slow mode: one message per ${s} s.` : 'Slow mode is off.')
    })(scope)
})

export const maxusers = defineCommand({
  name: 'maxusers',
  usage: '/maxusers <count>',
  description: 'limit how many members may write (0 for no limit)',
  args: [{ name: 'count', kind: 'word' }],
  run: (scope, command) =>
    inRoom(async (room, { info }) => {
      const n = whole(command.count, 'count')
      await room.moderate.set({ maxUsers: n })
      info(n > 0 ? `At most ${n} members may write.` : 'No member limit.')
    })(scope)
})

export const ttl = defineCommand({
  name: 'ttl',
  usage: '/ttl <hours>',
  description: "the room's message lifetime, at most 168 hours (0 for the default)",
  args: [{ name: 'hours', kind: 'word' }],
  run: (scope, command) =>
    inRoom(async (room, { info }) => {
      const h = whole(command.hours, 'hours')
      await room.moderate.set({ ttl: h * 60 * 60 * 1000 })
      info(h > 0 ? `Messages last ${h} hours.` : 'Messages last the default time.')
    })(scope)
})

const toggle = (name: 'anon' | 'files', key: 'allowAnonymous' | 'allowFiles', what: string) =>
  defineCommand({
    name,
    usage: `/${name} <on|off>`,
    description: `allow ${what}`,
    args: [{ name: 'state', kind: 'word' }],
    run: (scope, command) =>
      inRoom(async (room, { info }) => {
        const on = onOff(command.state)
        await room.moderate.set({ [key]: on })
        info(`${what[0]!.toUpperCase()}${what.slice(1)} ${on ? 'allowed' : 'not allowed'}.`)
      })(scope)
  })

export const anon = toggle('anon', 'allowAnonymous', 'anonymous members')
export const files = toggle('files', 'allowFiles', 'files')

export const wipe = defineCommand({
  name: 'wipe',
  usage: '/wipe confirm',
  description: "destroy the room's history on every member's device",
  args: [{ name: 'confirm', kind: 'word', optional: true }],
  build: (values) => ({ confirm: (values.confirm as string | undefined) ?? '' }),
  run: (scope, command) =>
    inRoom(async (room, { info, error }) => {
      if (command.confirm.toLowerCase() !== 'confirm') {
        error('This deletes every message written so far, for everyone. Type /wipe confirm to do it.')
        return
      }
      await room.moderate.wipe()
      info('The room was wiped.')
    })(scope)
})
