import { completeLine, parseCommand, roomLabel, runCommand, type CommandResult } from '../commands.js'
import { isBackspaceError } from '../errors.js'
import type { Backspace } from '../index.js'
import { MAX_INPUT_HISTORY, type ChatPrefs } from '../state/codecs.js'
import type { MentionTarget } from '../mentions.js'
import { describeMessageError, lastOwnMessage, type MessageAction } from '../message-refs.js'
import { Resource } from '../resource.js'
import type { Room } from '../room/room.js'
import type { UnreadCounts } from '../state/read-positions.js'
import type { DeviceInfo, DeviceRequest, Member, Message, Profile } from '../types.js'
import type { FriendRequest } from '../social/social.js'
import type { GovernanceEvent, Role } from '../governance/types.js'
import { fingerprint } from '../identity.js'
import type { NoticeBody, NoticePerson } from './notices.js'
import { chatReducer, initialChatState, type ChatAction, type ChatState, type DmPeer, type Target } from './state.js'

/** Messages fetched per page back beyond what is loaded. */
export const OLDER_PAGE = 100

export interface ChatModelOptions {
  /** A room to join on start, as `backspace --room` asks. */
  room?: { name: string; password?: string | undefined } | undefined
  /** How many of the latest messages of a room are loaded at first. Default 200. */
  historyLimit?: number
  /**
   * `false`: the model shows no room itself (`active` stays null, nothing is marked read by
   * it, the last room is neither restored nor saved). For a UI with several views at once,
   * such as the desktop's pages, each of which marks what it shows read. Default true.
   */
  activeRoom?: boolean
}

export interface ChatModelEvents {
  /** The state changed: render it. */
  change: [ChatState]
  /** `/quit` was typed. */
  quit: []
  /** A line ran as a command (or a message): its full result, for a UI's extras. */
  command: [CommandResult, Room | undefined]
  /**
   * A message from someone else mentions this identity, or came in a DM (the room's key): ring
   * a bell, notify.
   */
  mention: [Message, string]
  /** Every action applied, in order: for a UI that forwards changes one at a time. */
  action: [ChatAction]
  /**
   * A governance operation took effect in a room (the room's key), live or replayed from
   * history (`event.replayed`): the model makes a line only of live ones (see `ChatModel`).
   */
  governance: [GovernanceEvent, string]
  error: [Error]
}

/**
 * A headless chat: the joined rooms with their unread and mention counts (the library's,
 * kept across restarts), a window of each room's timeline that takes changes one message at
 * a time, members, and notices as typed data. A UI renders `state` on every `change` and
 * hands typed lines to `submit`; it keeps no chat rules of its own.
 *
 * Governance: an operation that arrives live is one line in its room, at the time it came.
 * One replayed from history (`GovernanceEvent.replayed`: a late joiner reading the room's
 * past, a restart, a catch-up after an absence, another device's history) is folded: no
 * line, no bell, no unread count; what it left (owner, roles, topic, announcement, settings)
 * is in the room's view. A newcomer sees the room as it is, not a wall of old kicks. The
 * room's welcome is shown once, to a room joined since the model started, with the welcome
 * the room had when it was joined: a welcome set live later is a plain governance line.
 * Lock access proofs (`room.on('access')`) are not lines: they change no role or setting.
 */
export class ChatModel extends Resource<ChatModelEvents>() {
  readonly node: Backspace
  private state_: ChatState
  private readonly opts: ChatModelOptions
  private readonly limit: number
  // The Room objects, by key: commands need them, the state only holds views.
  private readonly rooms = new Map<string, Room>()
  // How to stop listening to each room.
  private readonly detach = new Map<string, () => void>()
  // How to stop listening to the node.
  private detachNode: (() => void) | null = null
  private readonly subscribers = new Set<() => void>()
  // A render is scheduled: changes until then join it.
  private flushing = false
  // The typed lines kept across restarts, oldest first.
  private lines: string[] = []
  // Saving waits for the prefs of the last run, or it would overwrite them.
  private prefsLoaded = false
  // Rooms joined since this model started whose welcome message was not shown yet.
  private readonly unwelcomed = new Set<string>()
  // Of those, the ones whose welcome is looked at again once the current burst of history is in.
  private readonly welcomeQueued = new Set<string>()
  // The node's clock when this model started: rooms joined after it are new joins.
  private readonly startedAt: number
  // Governance lines of operations this device wrote so far: a moderation command whose
  // operation already shows as one does not say it again.
  private ownGovernance = 0

  constructor(node: Backspace, opts: ChatModelOptions = {}) {
    super()
    this.node = node
    this.opts = opts
    this.limit = opts.historyLimit ?? 200
    this.state_ = { ...initialChatState, profile: node.profile, connections: node.connections }
    this.startedAt = node.now()
  }

  /** The state now: a new object after every change, so UIs can compare by identity. */
  get state(): ChatState {
    return this.state_
  }

  /** Calls `fn` after every change; returns how to stop. For React's useSyncExternalStore. */
  subscribe(fn: () => void): () => void {
    this.subscribers.add(fn)
    return () => this.subscribers.delete(fn)
  }

  dispatch(action: ChatAction): void {
    const before = this.state_
    const next = chatReducer(before, action)
    if (next === before) return
    this.state_ = next
    this.emit('action', action)
    if (next.active !== before.active && next.active !== null) {
      this.markRead(next.active)
      this.savePrefs()
    }
    // A burst of changes (a page, a join and its notices, a flood of messages) is one render.
    if (this.flushing) return
    this.flushing = true
    setImmediate(() => this.flush())
  }

  private flush(): void {
    this.flushing = false
    if (this.closing) return
    for (const fn of [...this.subscribers]) fn()
    this.emit('change', this.state_)
  }

  /** Adds a notice, to `room` (a key), or to the room shown when it is left out. */
  notify(notice: NoticeBody, room?: string | null): void {
    this.dispatch({ type: 'notice', notice, time: Date.now(), room })
  }

  private error(text: string, room?: string | null): void {
    this.notify({ kind: 'text', level: 'error', text }, room)
  }

  override async _open(): Promise<void> {
    const node = this.node
    const onNodeError = (err: Error) => this.error(describe(err))
    const onUnread = (key: string, counts: UnreadCounts) =>
      this.dispatch({ type: 'unread', key, unread: counts.unread, mentions: counts.mentions })
    const onDeviceRequest = (req: DeviceRequest) =>
      this.notify({ kind: 'device-request', fingerprint: req.fingerprint, name: req.name })
    const onFriendRequest = (req: FriendRequest) =>
      this.notify({ kind: 'friend-request', fingerprint: req.fingerprint, name: req.name, text: req.text })
    const onDevices = (devices: DeviceInfo[]) => {
      if (devices.some((d) => d.current && d.revoked)) this.notify({ kind: 'device-revoked' })
    }
    const onProfile = (profile: Profile) => this.dispatch({ type: 'profile', profile })
    const onConnections = (connections: number) => this.dispatch({ type: 'connections', connections })
    // Unreachable is a notice and a state; reachable again only after it was not.
    const onNetwork = (reachable: boolean) => {
      const was = this.state_.reachable
      this.dispatch({ type: 'reachable', reachable })
      if (reachable !== was) this.notify({ kind: 'network', reachable })
    }
    // A friend's name or presence changed: the DMs' peers.
    const onFriends = () => {
      for (const view of this.state_.rooms) if (view.kind === 'dm') this.syncPeer(view.key)
    }
    const onAdd = (room: Room) => this.add(room)
    const onRemove = (room: Room) => this.remove(room)
    node.on('room-add', onAdd)
    node.on('room-remove', onRemove)
    node.on('error', onNodeError)
    node.on('profile', onProfile)
    node.on('connections', onConnections)
    node.on('unread', onUnread)
    node.on('device-request', onDeviceRequest)
    node.on('friend-request', onFriendRequest)
    node.on('device-update', onDevices)
    node.on('network', onNetwork)
    node.on('friend-update', onFriends)
    this.detachNode = () => {
      node.off('friend-update', onFriends)
      node.off('network', onNetwork)
      node.off('room-add', onAdd)
      node.off('room-remove', onRemove)
      node.off('error', onNodeError)
      node.off('profile', onProfile)
      node.off('connections', onConnections)
      node.off('unread', onUnread)
      node.off('device-request', onDeviceRequest)
      node.off('friend-request', onFriendRequest)
      node.off('device-update', onDevices)
    }
    onProfile(node.profile)
    onConnections(node.connections)
    if (node.reachable === false) onNetwork(false)
    for (const room of node.rooms) this.add(room)
    // DMs with friends opened before this model: they are rooms too, listed after the others.
    for (const dm of node.dms) this.add(dm.room)
    await this.restorePrefs()
    this.joinOnStart()
  }

  // The room shown last, and the lines typed, from the last run.
  private async restorePrefs(): Promise<void> {
    let prefs: ChatPrefs = { lastRoom: '', history: [] }
    try {
      prefs = await this.node.chatPrefs()
    } catch {
      // A closing node: nothing to restore.
    }
    this.lines = prefs.history.slice()
    this.dispatch({ type: 'history', history: prefs.history })
    if (this.opts.activeRoom !== false && !this.opts.room && prefs.lastRoom && this.rooms.has(prefs.lastRoom)) {
      this.dispatch({ type: 'switch', key: prefs.lastRoom })
    }
    this.prefsLoaded = true
  }

  /** Keeps a typed line for recall after a restart (the last MAX_INPUT_HISTORY). */
  remember(line: string): void {
    if (typeof line !== 'string' || line.trim() === '') return
    // A room password stays out of the saved lines (as a shell keeps out what it is told to).
    const command = parseCommand(line)
    if (command.type === 'join' && command.password) return
    this.lines = [...this.lines, line].slice(-MAX_INPUT_HISTORY)
    this.savePrefs()
  }

  private savePrefs(): void {
    if (!this.prefsLoaded || this.closing || this.opts.activeRoom === false) return
    const prefs = { lastRoom: this.state_.active ?? '', history: this.lines }
    // The node is closing: the prefs of this run are lost, nothing else.
    Promise.resolve()
      .then(() => this.node.saveChatPrefs(prefs))
      .catch(() => {})
  }

  override async _close(): Promise<void> {
    this.detachNode?.()
    this.detachNode = null
    for (const off of this.detach.values()) off()
    this.detach.clear()
    this.rooms.clear()
    this.subscribers.clear()
  }

  /** The Room object of a key, if joined. */
  room(key: string | null): Room | undefined {
    return key === null ? undefined : this.rooms.get(key)
  }

  private add(room: Room): void {
    const key = room.id
    if (this.detach.has(key)) return
    this.rooms.set(key, room)
    const onMessage = (message: Message) => {
      if (this.state_.active === key) this.markRead(key)
      this.dispatch({ type: 'message', key, message })
      if (!message.self && (message.mention || room.kind === 'dm')) this.emit('mention', message, key)
    }
    const onUpdate = (message: Message) => this.dispatch({ type: 'update', key, message })
    const onPeers = () => {
      this.dispatch({ type: 'peers', key, peers: room.stats.peers })
      this.dispatch({ type: 'connections', connections: this.node.connections })
    }
    const onMembers = (changed?: Member) => {
      const before = this.view(key)?.members ?? []
      if (changed && !changed.self) this.memberNotice(key, before, changed)
      const members = room.members()
      this.dispatch({ type: 'members', key, members })
      // A member seen for the first time may hold a role already.
      this.syncGovernance(room)
    }
    const onGovernance = (event: GovernanceEvent) => {
      this.syncGovernance(room)
      this.welcome(room, event)
      if (!event.replayed) this.governanceNotice(room, event)
      this.emit('governance', event, key)
    }
    const onError = (err: Error) => this.error(`${room.name}: ${describe(err)}`, key)
    const onWithdrawn = (message: Message) => this.dispatch({ type: 'withdrawn', key, id: message.id })
    const onAlone = () => this.notify({ kind: 'alone', about: { name: room.name, kind: room.kind, id: room.id } }, key)
    room.on('alone', onAlone)
    room.on('message', onMessage)
    room.on('message-update', onUpdate)
    room.on('message-withdrawn', onWithdrawn)
    room.on('peer-add', onPeers)
    room.on('peer-remove', onPeers)
    room.on('member-update', onMembers)
    room.on('error', onError)
    room.on('governance', onGovernance)
    // The event may have come before the room was added here (join() still saving under load).
    if (room.alone) onAlone()
    this.detach.set(key, () => {
      room.off('governance', onGovernance)
      room.off('alone', onAlone)
      room.off('message', onMessage)
      room.off('message-update', onUpdate)
      room.off('message-withdrawn', onWithdrawn)
      room.off('peer-add', onPeers)
      room.off('peer-remove', onPeers)
      room.off('member-update', onMembers)
      room.off('error', onError)
    })
    const show = this.opts.activeRoom !== false
    this.dispatch({ type: 'room-add', key, name: room.name, kind: room.kind, peers: room.stats.peers, locked: room.locked, show })
    const counts = this.node.unread(key)
    this.dispatch({ type: 'unread', key, unread: counts.unread, mentions: counts.mentions })
    onMembers()
    if (room.kind === 'dm') this.syncPeer(key)
    else if (room.joinedAt >= this.startedAt) {
      this.unwelcomed.add(key)
      this.welcome(room, null)
    }
    void this.loadFirstPage(room)
  }

  /** The room's owner, roles and settings, from the library, into its view. */
  private syncGovernance(room: Room): void {
    const roles: Record<string, Role> = {}
    for (const m of room.members()) {
      const role = room.role(m.key)
      if (role !== 'member') roles[m.key.toString('hex')] = role
    }
    const owner = room.owner
    if (owner) roles[owner.toString('hex')] = 'owner'
    this.dispatch({ type: 'governance', key: room.id, owner: owner ? owner.toString('hex') : null, roles, settings: room.settings })
  }

  /** A DM's friend as `node.dms` tells it: name and presence. */
  private syncPeer(key: string): void {
    const dm = this.node.dms.find((d) => d.room.id === key)
    const peer: DmPeer | null = dm
      ? { key: dm.key.toString('hex'), name: dm.name, fingerprint: dm.fingerprint, online: dm.online }
      : null
    this.dispatch({ type: 'peer', key, peer })
  }

  /**
   * A room joined since this model started shows its welcome message once, as soon as one is
   * known (it comes with the room's history, often after the join). A history read in one
   * burst tells each operation with the state up to it, so the welcome is read once the burst
   * is in: the latest, not one it replaced. A welcome set live after the join, by you or
   * anyone, is a governance line like any other instead.
   */
  private welcome(room: Room, event: GovernanceEvent | null): void {
    const key = room.id
    if (!this.unwelcomed.has(key)) return
    if (event && event.action === 'welcome' && !event.replayed) {
      this.unwelcomed.delete(key)
      return
    }
    if (!event) return this.showWelcome(room)
    if (this.welcomeQueued.has(key)) return
    this.welcomeQueued.add(key)
    setImmediate(() => {
      this.welcomeQueued.delete(key)
      if (!this.closing && this.rooms.get(key) === room) this.showWelcome(room)
    })
  }

  private showWelcome(room: Room): void {
    const key = room.id
    const text = room.settings.welcome
    if (!this.unwelcomed.has(key) || text === '') return
    this.unwelcomed.delete(key)
    this.notify({ kind: 'room-welcome', about: { name: room.name, kind: room.kind, id: key }, text }, key)
  }

  /** A live governance operation as a line in its room, the same on every member's screen. */
  private governanceNotice(room: Room, e: GovernanceEvent): void {
    if (e.action === 'claim') return
    // Written by this device (its writer core's ids), not by another device of this identity.
    if (e.id.startsWith(room.writerKey.toString('hex', 0, 16) + '-')) this.ownGovernance++
    const members = room.members()
    const person = (key: Buffer): NoticePerson => ({
      name: members.find((m) => m.key.equals(key))?.name ?? '',
      fingerprint: fingerprint(key),
      self: key.equals(this.node.publicKey)
    })
    this.notify(
      {
        kind: 'governance',
        action: e.action,
        actor: person(e.actor),
        target: e.target ? person(e.target) : null,
        text: e.text,
        setting: e.setting,
        value: e.setting === null ? null : e.settings[e.setting]
      },
      room.id
    )
  }

  /** A member came online, went offline, or took another name: one line in the room. */
  private memberNotice(key: string, before: readonly Member[], m: Member): void {
    const old = before.find((x) => x.key.equals(m.key))
    if (!old) {
      if (m.online) this.notify({ kind: 'member-join', name: m.name, fingerprint: m.fingerprint }, key)
      return
    }
    if (old.name !== m.name && old.name !== '' && m.name !== '') {
      this.notify({ kind: 'member-rename', from: old.name, to: m.name, fingerprint: m.fingerprint }, key)
    }
    if (!old.online && m.online) this.notify({ kind: 'member-join', name: m.name, fingerprint: m.fingerprint }, key)
    if (old.online && !m.online) this.notify({ kind: 'member-leave', name: m.name, fingerprint: m.fingerprint }, key)
  }

  // The latest page, once: after it, events carry every change, one message at a time.
  private async loadFirstPage(room: Room): Promise<void> {
    const key = room.id
    try {
      const page = await room.messages({ limit: this.limit })
      // Changes that came while the page was read are in the room's copy.
      const messages = page.map((m) => room.message(m.id) ?? m)
      this.dispatch({ type: 'page', key, messages, limit: this.limit })
    } catch (err) {
      if (!isBackspaceError(err, 'ROOM_CLOSED')) this.error(describe(err), key)
    }
  }

  private remove(room: Room): void {
    const key = room.id
    this.detach.get(key)?.()
    this.detach.delete(key)
    this.rooms.delete(key)
    this.unwelcomed.delete(key)
    this.dispatch({ type: 'room-remove', key })
  }

  private markRead(key: string): void {
    this.node.markRead(key).catch((err: unknown) => {
      // Left or closed meanwhile: nothing to mark.
      const gone = ['INVALID_ARGUMENT', 'ROOM_CLOSED', 'NODE_CLOSED'] as const
      if (!gone.some((code) => isBackspaceError(err, code))) this.error(describe(err), key)
    })
  }

  private view(key: string | null) {
    return key === null ? undefined : this.state_.rooms.find((r) => r.key === key)
  }

  private activeMessages(): readonly Message[] {
    return this.view(this.state_.active)?.messages ?? []
  }

  /** The target now. */
  target(): Target | null {
    return this.state_.target
  }

  setTarget(target: Target | null): void {
    this.dispatch({ type: 'target', target })
  }

  /** Drops the target: leaves edit mode, forgets the picked message. */
  dropTarget(): void {
    this.setTarget(null)
  }

  /** Saves an edit or sends an answer: the line typed while a message was the target. */
  private async submitTarget(target: Target, line: string): Promise<boolean> {
    this.setTarget(null)
    const room = this.rooms.get(target.key)
    if (!room) return false
    const action: MessageAction = target.mode
    try {
      if (target.mode === 'edit') {
        const before = room.message(target.id)
        if (line.trim() === '' || before?.text === line) return true
        await room.edit(target.id, line)
      } else {
        await room.send(line, { replyTo: target.id })
      }
      return true
    } catch (err) {
      this.error(describeMessageError(err, action), target.key)
      // The text goes back to the input, still editing or answering the same message.
      this.setTarget(target)
      return false
    }
  }

  /**
   * Runs one typed line: a message or a slash command. Resolves when it is done: false when
   * it failed (a notice says why), so the input can give the text back.
   */
  async submit(line: string): Promise<boolean> {
    // Output belongs to the room the line was typed in, even if the user switched since.
    const origin = this.state_.active
    // Whoever sends or runs a command wants to see the result: back to the bottom.
    if (origin !== null && line.trim() !== '') this.dispatch({ type: 'scroll', key: origin, scroll: 0 })
    const room = this.room(origin)
    const command = parseCommand(line)
    const target = this.state_.target
    // A plain line answers the picked message; a command acts on it; an edit is saved.
    if (target && (target.mode === 'edit' || command.type === 'say')) {
      return this.submitTarget(target, command.type === 'say' ? command.text : line)
    }
    if (target) this.setTarget(null)
    // `/leave` deletes the room's history: it runs only when typed twice in a row.
    const pending = this.state_.pending
    if (pending !== null) this.dispatch({ type: 'pending', pending: null })
    if (command.type === 'leave' && room && !(pending?.kind === 'leave' && pending.key === room.id)) {
      this.dispatch({ type: 'pending', pending: { kind: 'leave', key: room.id } })
      this.notify({ kind: 'confirm-leave', about: { name: room.name, kind: room.kind, id: room.id } }, room.id)
      return true
    }
    const joining = command.type === 'join' ? joinLabel(command.name) : null
    if (joining) this.dispatch({ type: 'joining', name: joining, done: false })
    const governed = this.ownGovernance
    let result: CommandResult
    try {
      result = await runCommand(this.node, line, { room, messages: this.activeMessages(), selected: target?.id })
    } finally {
      if (joining) this.dispatch({ type: 'joining', name: joining, done: true })
    }
    if (result.room) this.dispatch({ type: 'switch', key: result.room.id })
    // After /leave, the room shown next (the reducer knows it by now) gets the notice.
    const where = result.left ? undefined : (result.room?.id ?? origin)
    // A moderation command's first sentence repeats the governance line its operation just
    // made; what it adds after that (what a named room cannot enforce) is still said.
    const echoed = this.ownGovernance > governed && result.notices.every((n) => n.level === 'info')
    for (const [i, n] of result.notices.entries()) {
      if (echoed && i === 0) continue
      this.notify(n.code === undefined ? { kind: 'text', level: n.level, text: n.text } : { kind: 'text', level: n.level, text: n.text, code: n.code }, where)
    }
    if (result.help) this.notify({ kind: 'help', commands: result.help }, where)
    if (result.clear && origin !== null) this.dispatch({ type: 'clear', key: origin, time: Date.now() })
    this.emit('command', result, room)
    if (result.quit) this.emit('quit')
    // A message the library refused (too large, room closed) goes back to the input.
    const sending = result.command.type === 'say' || result.command.type === 'me'
    return !(sending && result.notices.some((n) => n.level === 'error' && n.code !== undefined))
  }

  /**
   * Tab completion for the input: commands, then names in the active room, or in the room
   * `key` names (a UI with several views, such as the desktop's pages, says which).
   */
  complete(line: string, key: string | null = this.state_.active): string[] {
    const view = this.view(key)
    // Members by key, so that Tab offers `@alice#34ab` when two are called alice.
    const targets = new Map<string, MentionTarget>()
    for (const m of view?.members ?? []) if (m.name && !m.self) targets.set(m.key.toString('hex'), m)
    for (const m of view?.messages ?? []) {
      const hex = m.author.toString('hex')
      if (m.name && !m.self && !targets.has(hex)) targets.set(hex, { name: m.name, key: m.author })
    }
    return completeLine(line, [...targets.values()], view?.messages ?? [])
  }

  /**
   * Edit mode: -1 edits your message before the one being edited (from an empty line, your
   * last one), 1 the one after. Returns its text for the input, or null when there is none
   * (stepping past the newest leaves edit mode).
   */
  stepEdit(direction: -1 | 1): string | null {
    const { active, target } = this.state_
    if (active === null) return null
    const own = this.activeMessages().filter((m) => m.self && !m.deleted)
    let next: Message | undefined
    if (target?.mode !== 'edit') {
      if (direction === 1) return null
      next = lastOwnMessage(own)
    } else {
      const at = own.findIndex((m) => m.id === target.id)
      next = at === -1 ? undefined : own[at + direction]
      if (!next && direction === -1) return null
    }
    if (!next && target?.mode !== 'edit') return null
    this.setTarget(next ? { mode: 'edit', key: active, id: next.id } : null)
    return next ? next.text : null
  }

  /** Picks a message to answer: -1 the one above the picked one (or the newest), 1 below. */
  pick(direction: -1 | 1): void {
    const { active, target } = this.state_
    if (active === null) return
    const messages = this.activeMessages().filter((m) => !m.deleted)
    const at = target ? messages.findIndex((m) => m.id === target.id) : messages.length
    const next = messages[at === -1 ? messages.length - 1 : at + direction]
    this.setTarget(next ? { mode: 'reply', key: active, id: next.id } : null)
  }

  /** Fetches the page before the oldest loaded message of a room. */
  loadOlder(key: string): void {
    const room = this.rooms.get(key)
    const view = this.view(key)
    if (!room || !view || view.atStart || view.loadingOlder) return
    const first = view.messages[0]
    if (!first) return this.dispatch({ type: 'older', key, messages: [] })
    this.dispatch({ type: 'older-loading', key })
    room.messages({ before: first, limit: OLDER_PAGE }).then(
      (messages) => this.dispatch({ type: 'older', key, messages }),
      (err: unknown) => {
        this.dispatch({ type: 'older', key, messages: [] })
        if (!isBackspaceError(err, 'ROOM_CLOSED')) this.error(describe(err), key)
      }
    )
  }

  // The --room of the command line, once.
  private joinOnStart(): void {
    const room = this.opts.room
    if (!room) {
      if (this.node.rooms.length === 0) this.notify({ kind: 'welcome' }, null)
      return
    }
    const name = joinLabel(room.name)
    this.dispatch({ type: 'joining', name, done: false })
    this.node
      .join(room.name, room.password === undefined ? {} : { password: room.password })
      .then(
        (joined) => {
          this.dispatch({ type: 'switch', key: joined.id })
          this.notify({ kind: 'text', level: 'info', text: `Joined ${roomLabel(joined, this.node.rooms)}.` })
        },
        (err: unknown) => this.error(describe(err))
      )
      .finally(() => this.dispatch({ type: 'joining', name, done: true }))
  }
}

function joinLabel(name: string): string {
  return name.startsWith('backspace:') ? 'a private room' : `#${name}`
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
