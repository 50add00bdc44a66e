import { device } from './devices.js'
import { del, edit, me, react, reply, unreact } from './messages.js'
import { away, back, nick, peers, status, whoami } from './profile.js'
import { create, invite, join, leave, rooms, switchRoom } from './rooms.js'
import { admin, announce, anon, ban, deop, files, kick, lock, maxusers, op, privateRoom, slow, topic, ttl, unadmin, unban, unlock, welcome, wipe } from './moderation.js'
import { accept, block, decline, dm, friend, friends, relay, requests, unblock, unfriend } from './social.js'
import { defineCommand, type CommandSpec } from './types.js'

declare module './types.js' {
  interface CommandMap {
    clear: Record<never, never>
    help: Record<never, never>
    quit: Record<never, never>
  }
}

const clear = defineCommand({
  name: 'clear',
  usage: '/clear',
  description: 'clear the messages shown (on this screen only)',
  args: [],
  run: () => ({ clear: true })
})

const help = defineCommand({
  name: 'help',
  aliases: ['?'],
  usage: '/help',
  description: 'list the commands',
  args: [],
  // The UI lays the table out; `//text` is explained by `HELP_FOOTER`.
  run: () => ({ help: COMMANDS })
})

const quit = defineCommand({
  name: 'quit',
  aliases: ['exit', 'q'],
  usage: '/quit',
  description: 'close Backspace',
  args: [],
  run: () => ({ quit: true })
})

/**
 * Every slash command, in the order `/help` lists them. A new command is one entry here
 * (defined in the file of its concern, with its `CommandMap` fields next to it).
 */
export const COMMANDS: readonly CommandSpec[] = Object.freeze([
  join,
  create,
  invite,
  leave,
  rooms,
  switchRoom,
  me,
  reply,
  edit,
  del,
  react,
  unreact,
  nick,
  status,
  away,
  back,
  peers,
  whoami,
  friend,
  unfriend,
  friends,
  requests,
  accept,
  decline,
  dm,
  block,
  unblock,
  relay,
  device,
  topic,
  announce,
  welcome,
  lock,
  unlock,
  privateRoom,
  kick,
  ban,
  unban,
  op,
  deop,
  admin,
  unadmin,
  slow,
  maxusers,
  ttl,
  anon,
  files,
  wipe,
  clear,
  help,
  quit
] as CommandSpec[])

/** The one line `/help` adds below the commands. */
export const HELP_FOOTER = { usage: '//text', description: 'send a message that starts with /' } as const

/** Each command by its name and by each alias, lower case. */
export const BY_WORD: ReadonlyMap<string, CommandSpec> = (() => {
  const map = new Map<string, CommandSpec>()
  for (const spec of COMMANDS) {
    for (const word of [spec.name, ...spec.aliases]) {
      if (map.has(word)) throw new Error(`Two commands are called /${word}`)
      map.set(word, spec)
    }
  }
  return map
})()
