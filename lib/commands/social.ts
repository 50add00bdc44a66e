// Friends, requests, blocks, DMs and relays: /friend /unfriend /block /unblock /dm (/msg,
// /query) /friends /requests /relay. The library decides; these only find who is meant and
// say what happened.
import b4a from 'b4a'
import type { Backspace } from '../index.js'
import type { Room } from '../room/room.js'
import type { Friend, FriendRequest, RelayInfo } from '../social/social.js'
import { fingerprint } from '../identity.js'
import { isContactLink, parseContactLink } from '../links.js'
import { plural } from './labels.js'
import { usageText } from './parse.js'
import { defineCommand, type CommandOutput, type CommandScope } from './types.js'

declare module './types.js' {
  interface CommandMap {
    friend: { who: string; text?: string }
    unfriend: { who: string }
    block: { who: string }
    unblock: { who: string }
    dm: { who: string; text?: string }
    friends: Record<never, never>
    requests: { action?: 'accept' | 'decline' | 'block'; who?: string }
    accept: { who?: string }
    decline: { who?: string }
    relay: { action: 'list' } | { action: 'add' | 'remove'; link: string }
  }
  interface CommandOutput {
    /** `/friends`: the friends, for the UI to lay out. */
    friends?: readonly Friend[]
    /** `/requests`: friend requests waiting for an answer. */
    requests?: readonly FriendRequest[]
    /** `/relay list`: the account's relays. */
    relays?: readonly RelayInfo[]
  }
}

interface Person {
  key: Buffer
  /** How to call them in a notice. */
  label: string
}

const compact = (s: string): string => s.toLowerCase().replace(/[\s\p{Pd}]/gu, '')

/**
 * Who a word means: a contact link, a 64-hex key, or a name or fingerprint among friends,
 * requests waiting, and the current room's members. A string says why it means nobody.
 */
export function resolvePerson(node: Backspace, room: Room | undefined, word: string): Person | string {
  const text = word.trim()
  if (isContactLink(text)) {
    try {
      const c = parseContactLink(text)
      return { key: c.key, label: label(c.name, c.key) }
    } catch (err) {
      return (err as Error).message
    }
  }
  if (/^[0-9a-f]{64}$/i.test(text)) {
    const key = b4a.from(text, 'hex')
    return { key, label: label('', key) }
  }
  const wanted = text.startsWith('@') ? text.slice(1) : text
  const candidates = new Map<string, Person>()
  const consider = (key: Buffer, name: string): void => {
    if (b4a.equals(key, node.publicKey)) return
    const fp = fingerprint(key)
    if (name.toLowerCase() === wanted.toLowerCase() || compact(fp) === compact(wanted)) {
      candidates.set(key.toString('hex'), { key, label: label(name, key) })
    }
  }
  for (const f of node.friends.list()) consider(f.key, f.name)
  for (const r of node.friends.requests()) consider(r.from, r.name)
  for (const m of room?.members() ?? []) consider(m.key, m.name)
  if (candidates.size === 1) return [...candidates.values()][0]!
  if (candidates.size > 1) return `${candidates.size} people are called ${wanted}: give the fingerprint instead`
  return `Nobody called ${wanted} is among your friends, requests or this room's members; give a contact link or a key`
}

function label(name: string, key: Buffer): string {
  return name ? `${name} (${fingerprint(key)})` : fingerprint(key)
}

export const friend = defineCommand({
  name: 'friend',
  usage: '/friend <who> [message]',
  description: 'send a friend request with one short message (or accept theirs); who: a name, fingerprint or contact link',
  args: [
    { name: 'who', kind: 'word' },
    { name: 'text', kind: 'text', optional: true }
  ],
  async run({ node, room, info, error }, command) {
    const who = resolvePerson(node, room, command.who)
    if (typeof who === 'string') return error(who)
    const theirs = node.friends.requests().some((r) => b4a.equals(r.from, who.key))
    // A contact link also gives the name they go by.
    await node.friends.request(isContactLink(command.who) ? command.who : who.key, command.text ?? '')
    if (theirs) info(`You and ${who.label} are friends now: /dm ${command.who} to write.`)
    else info(`Friend request sent to ${who.label}. They see only your message until they accept.`)
  }
})

export const unfriend = defineCommand({
  name: 'unfriend',
  usage: '/unfriend <who>',
  description: 'end a friendship; the DM closes and its messages are deleted here',
  args: [{ name: 'who', kind: 'word' }],
  async run({ node, room, info, error }, command) {
    const who = resolvePerson(node, room, command.who)
    if (typeof who === 'string') return error(who)
    await node.friends.remove(who.key)
    info(`${who.label} is no longer your friend.`)
  }
})

export const block = defineCommand({
  name: 'block',
  usage: '/block <who>',
  description: 'never show their requests, DMs or messages in any room; they cannot tell',
  args: [{ name: 'who', kind: 'word' }],
  async run({ node, room, info, error }, command) {
    const who = resolvePerson(node, room, command.who)
    if (typeof who === 'string') return error(who)
    await node.block(who.key)
    info(`Blocked ${who.label}. /unblock ${fingerprint(who.key)} undoes it.`)
  }
})

export const unblock = defineCommand({
  name: 'unblock',
  usage: '/unblock <who>',
  description: 'show their requests, DMs and messages again',
  args: [{ name: 'who', kind: 'word' }],
  async run({ node, room, info, error }, command) {
    const blocked = node.blocked().find((k) => compact(fingerprint(k)) === compact(command.who) || k.toString('hex') === command.who)
    const who = blocked ? { key: blocked, label: fingerprint(blocked) } : resolvePerson(node, room, command.who)
    if (typeof who === 'string') return error(who)
    await node.unblock(who.key)
    info(`Unblocked ${who.label}.`)
  }
})

export const dm = defineCommand({
  name: 'dm',
  aliases: ['msg', 'query'],
  usage: '/dm <who> [message]',
  description: 'open the DM with a friend, and send a message there',
  args: [
    { name: 'who', kind: 'word' },
    { name: 'text', kind: 'text', optional: true }
  ],
  async run({ node, room, error }, command) {
    const who = resolvePerson(node, room, command.who)
    if (typeof who === 'string') return error(who)
    const conversation = await node.dm(who.key)
    if (command.text) await conversation.send(command.text)
    return { room: conversation }
  }
})

export const friends = defineCommand({
  name: 'friends',
  usage: '/friends',
  description: 'list your friends, who is online, and requests sent',
  args: [],
  run({ node, info }) {
    const list = node.friends.list()
    info(`${plural(list.length, 'friend')}:`)
    for (const f of list) info(`${f.online ? '●' : '○'} ${label(f.name, f.key)}${f.blocked ? ' (blocked)' : ''}`)
    const sent = node.friends.sent()
    if (sent.length > 0) info(`Requests sent, not accepted yet: ${sent.map((s) => label(s.name, s.key)).join(', ')}`)
    info(`Your contact link: ${node.contactLink}`)
    return { friends: list }
  }
})

const REQUEST_ACTIONS = ['accept', 'decline', 'block'] as const

export const requests = defineCommand({
  name: 'requests',
  usage: '/requests [accept|decline|block <who>]',
  description: 'list friend requests; accept, decline or block one (they cannot tell a decline)',
  args: [
    { name: 'action', kind: 'word', optional: true },
    { name: 'who', kind: 'word', optional: true }
  ],
  build(values, spec) {
    if (values.action === undefined) return {}
    const action = REQUEST_ACTIONS.find((a) => a === String(values.action).toLowerCase())
    if (!action || typeof values.who !== 'string') return usageText(spec)
    return { action, who: values.who }
  },
  async run(scope, command) {
    const { node, info } = scope
    const waiting = node.friends.requests()
    if (!command.action) {
      info(`${plural(waiting.length, 'friend request')}:`)
      for (const r of waiting) info(`${label(r.name, r.from)}: ${r.text}`)
      if (waiting.length > 0) info('/requests accept <who>, /requests decline <who> or /requests block <who>.')
      return { requests: waiting }
    }
    return answer(scope, command.action, command.who)
  }
})

// Accepts, declines or blocks the request from `word`; without a word, the only one waiting.
async function answer(scope: CommandScope, action: 'accept' | 'decline' | 'block', word: string | undefined): Promise<CommandOutput | void> {
  const { node, room, info, error } = scope
  const waiting = node.friends.requests()
  let request: FriendRequest | undefined
  let who: Person | string
  if (word === undefined) {
    if (waiting.length !== 1) {
      return error(waiting.length === 0 ? 'No friend request is waiting.' : `${plural(waiting.length, 'friend request')} wait: say whose (/requests lists them).`)
    }
    const only = waiting[0]!
    request = only
    who = { key: only.from, label: label(only.name, only.from) }
  } else {
    who = resolvePerson(node, room, word)
    if (typeof who === 'string') return error(who)
    const key = who.key
    request = waiting.find((r) => b4a.equals(r.from, key))
  }
  if (!request) return error(`No request from ${who.label} is waiting.`)
  if (action === 'accept') {
    const conversation = await request.accept()
    info(`You and ${who.label} are friends now.`)
    return { room: conversation }
  }
  if (action === 'decline') await request.decline()
  else await request.block()
  info(action === 'decline' ? `Declined ${who.label}; their later requests will not show.` : `Blocked ${who.label}.`)
}

export const accept = defineCommand({
  name: 'accept',
  usage: '/accept [who]',
  description: 'accept a friend request (without who: the only one waiting); the DM opens',
  args: [{ name: 'who', kind: 'word', optional: true }],
  run: (scope, command) => answer(scope, 'accept', command.who)
})

export const decline = defineCommand({
  name: 'decline',
  usage: '/decline [who]',
  description: 'decline a friend request (without who: the only one waiting); they cannot tell',
  args: [{ name: 'who', kind: 'word', optional: true }],
  run: (scope, command) => answer(scope, 'decline', command.who)
})

export const relay = defineCommand({
  name: 'relay',
  aliases: ['relays'],
  usage: '/relay add|list|remove [link]',
  description: 'relays that keep your inboxes and DMs, blind, for friends who are offline',
  args: [
    { name: 'action', kind: 'word', optional: true },
    { name: 'link', kind: 'word', optional: true }
  ],
  build(values, spec) {
    const action = typeof values.action === 'string' ? values.action.toLowerCase() : 'list'
    if (action === 'list') return values.link === undefined ? { action } : usageText(spec)
    if ((action === 'add' || action === 'remove') && typeof values.link === 'string') return { action, link: values.link }
    return usageText(spec)
  },
  async run({ node, info }, command) {
    if (command.action === 'add') {
      await node.relays.add(command.link)
      info('Relay added: it keeps your inboxes and DMs (it cannot read them) while you or your friends are offline.')
      return
    }
    if (command.action === 'remove') {
      await node.relays.remove(command.link)
      info('Relay removed.')
      return
    }
    const list = node.relays.list()
    info(`${plural(list.length, 'relay')}:`)
    for (const r of list) info(`${r.connected ? '●' : '○'} ${r.link}`)
    return { relays: list }
  }
})
