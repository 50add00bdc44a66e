// The shell's side of the protocol: which account screen the page is on, the node once there
// is one, and one handler per request. Every answer is data the library returned; the chat
// itself (commands, order, names, mentions) is the library's.
import { EventEmitter } from 'events'
import {
  accountExists,
  accountIsEncrypted,
  changeAccountPassword,
  loadAccount,
  aloneNotice,
  Backspace,
  BackspaceError,
  completeLine,
  Identity,
  isBackspaceError,
  isInvite,
  listAccounts,
  MAX_TEXT_BYTES,
  NewPhrase,
  parseCommand,
  roomTag,
  runCommand,
  type BackspaceOptions,
  type DeviceInfo,
  type DeviceRequest,
  type MentionTarget,
  type Message,
  type Profile,
  type Room,
  type UnreadCounts
} from '../lib/index.js'
import {
  describeMessageError,
  messageOrderKey,
  messageRef,
  QUICK_REACTIONS,
  shortRefs,
  type MessageAction
} from '../lib/message-refs.js'
import type {
  AccountSettingsView,
  ChatView,
  DeviceRequestView,
  DeviceView,
  ErrorView,
  Events,
  IdentityView,
  LineResult,
  MemberView,
  MessageView,
  Phase,
  ReactionView,
  Requests,
  RequestType,
  RoomView,
  SetupView,
  ShellErrorCode,
  StateView,
  StatusView
} from './protocol.js'

/** A failure of the shell itself; library failures stay BackspaceErrors with their code. */
export class ShellError extends Error {
  readonly code: ShellErrorCode

  constructor(code: ShellErrorCode, detail: string) {
    super(`${code}: ${detail}`)
    this.name = 'ShellError'
    this.code = code
  }
}

export interface SessionOptions {
  /** The storage directory, resolved. Required unless `incognito`. */
  storage?: string
  /** The account named with --account; without it the page may name one ('default'). */
  account?: string
  /** --password: unlocks the account, or encrypts a new one. */
  password?: string
  incognito?: boolean
  bootstrap?: BackspaceOptions['bootstrap']
  /** --link: make the account a new device of an identity; the page shows the fingerprint. */
  link?: string
  /** --device-name: this device's label in device lists. */
  deviceName?: string
}

const PAGE = 50
// Names listed per reaction, so a popular emoji cannot make a frame large.
const MAX_WHO = 20
const PREFIX = 'backspace:'
const MAX_MEMBERS = 500

type Args = Record<string, unknown>
type Handler = (args: Args) => Promise<unknown>

export interface SessionEvents {
  /** Something to send to every page. */
  event: [name: keyof Events, data: Events[keyof Events]]
  /** /quit: the user wants the shell closed. */
  quit: []
}

/**
 * The desktop shell's state over one node. It starts on an account screen when the flags do
 * not decide the account, and opens the node once the page says which.
 */
export class DesktopSession extends EventEmitter<SessionEvents> {
  phase: Phase
  node: Backspace | null = null

  private readonly options: SessionOptions
  // Whether close() closes the node: not when an embedder handed its own.
  private ownsNode = true
  private setup: SetupView | null = null
  // The new identity whose words the page shows, until the account is created from it. The
  // library's NewPhrase hands it out only once the page typed the asked words back.
  private pending: NewPhrase | null = null
  private lastError: ErrorView | null = null
  private status: StatusView = { connections: 0, peers: 0 }
  private closing: Promise<void> | null = null
  // The device request the page is asked about, until it is answered.
  private request_: DeviceRequest | null = null
  // The open account's key file is encrypted (Settings asks for the password).
  private encrypted = false
  // Listeners on the node and each room, removed on close.
  private readonly detachers = new Map<object, () => void>()
  private readonly handlers: Record<RequestType, Handler>

  private constructor(options: SessionOptions, phase: Phase) {
    super()
    this.options = options
    this.phase = phase
    this.handlers = {
      state: async () => this.state(),
      'setup-generate': async () => this.generate(),
      'setup-confirm': async (args) => this.confirmWords(args),
      'setup-preview': async (args) => this.preview(args),
      'setup-create': async (args) => this.create(args),
      'setup-open': async (args) => this.openAccount(args),
      'setup-incognito': async () => this.open({ incognito: true }),
      'setup-link': async (args) => this.link(args),
      'setup-cancel': async () => this.cancelLink(),
      'device-answer': async (args) => this.answerDevice(args),
      devices: async () => (await this.chatNode().devices.list()).map(deviceView),
      messages: async (args) => this.messages(args),
      line: async (args) => this.line(args),
      reply: async (args) =>
        this.act('reply', args, (room, id) =>
          room.send(requiredString(args, 'text'), { replyTo: id })
        ),
      edit: async (args) =>
        this.act('edit', args, (room, id) => room.edit(id, requiredString(args, 'text'))),
      delete: async (args) => this.act('delete', args, (room, id) => room.delete(id)),
      react: async (args) =>
        this.act('react', args, (room, id) => room.react(id, requiredString(args, 'emoji'))),
      unreact: async (args) =>
        this.act('unreact', args, (room, id) => room.unreact(id, requiredString(args, 'emoji'))),
      complete: async (args) => this.complete(args),
      join: async (args) => this.join(args),
      create: async (args) => this.createRoom(args),
      leave: async (args) => this.leave(args),
      read: async (args) => this.read(args),
      members: async (args) => this.members(args),
      'account-password': async (args) => this.changePassword(args),
      'account-phrase': async (args) => this.revealPhrase(args),
      'account-switch': async () => this.switchAccount(),
      profile: async (args) => this.setName(args)
    }
  }

  /**
   * Decides where to start from the flags: straight to chat when they determine the account
   * (incognito, or an account that opens without asking), else the unlock or setup screen.
   * A node that fails to open from the flags (a wrong --password) fails here.
   */
  static async start(options: SessionOptions): Promise<DesktopSession> {
    if (options.incognito) {
      const session = new DesktopSession(options, 'setup')
      await session.open({ incognito: true })
      return session
    }
    if (!options.storage) throw BackspaceError.INVALID_ARGUMENT('storage is required')
    const account = options.account ?? 'default'
    // Validates the name the way the library does.
    new Backspace({ storage: options.storage, account })
    const session = new DesktopSession(options, 'setup')
    if (options.link !== undefined) {
      // The page must be up to show the fingerprint: the link waits there, not here.
      await session.refreshSetup(account)
      session
        .open({ account, password: options.password, link: options.link, deviceName: options.deviceName })
        .catch(() => {}) // the state carries the error to the page
      return session
    }
    if (await accountExists(options.storage, account)) {
      if (options.password || !(await accountIsEncrypted(options.storage, account))) {
        await session.open({ account, password: options.password })
        return session
      }
      session.phase = 'unlock'
    }
    await session.refreshSetup(account)
    return session
  }

  /** A session over a node the caller opened and will close. */
  static async forNode(node: Backspace): Promise<DesktopSession> {
    await node.ready()
    const session = new DesktopSession({}, 'chat')
    session.ownsNode = false
    session.attach(node)
    return session
  }

  /** Answers one request from the page. Rejects with a coded error. */
  async request(type: string, args: Args): Promise<unknown> {
    if (this.phase === 'closed') throw BackspaceError.NODE_CLOSED()
    const handler = Object.hasOwn(this.handlers, type) ? this.handlers[type as RequestType] : null
    if (!handler) throw new ShellError('UNKNOWN_REQUEST', `No request "${type}"`)
    return handler(args)
  }

  state(): StateView {
    const linking = this.phase === 'opening' ? (this.node?.linking ?? null) : null
    return {
      phase: this.phase,
      setup: this.phase === 'setup' || this.phase === 'unlock' ? this.setup : null,
      chat: this.phase === 'chat' ? this.chatView() : null,
      linking: linking && { fingerprint: linking.fingerprint, expiresAt: linking.expiresAt },
      error: this.lastError
    }
  }

  /** Closes the node (unless an embedder owns it). Idempotent; concurrent calls share one. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.phase = 'closed'
      this.pending = null
      for (const detach of this.detachers.values()) detach()
      this.detachers.clear()
      // A node still opening is closed too: ready-resource waits for the open first.
      if (this.node && this.ownsNode) await this.node.close()
    })()
    return this.closing
  }

  // -------------------------------------------------------------------------
  // Account screens
  // -------------------------------------------------------------------------

  private async refreshSetup(account: string): Promise<void> {
    const storage = this.options.storage!
    const names = await listAccounts(storage)
    const accounts = await Promise.all(
      names.map(async (name) => ({ name, encrypted: await accountIsEncrypted(storage, name) }))
    )
    this.setup = {
      account,
      accountFixed: this.options.account !== undefined,
      accounts,
      passwordGiven: this.options.password !== undefined
    }
  }

  private generate(): Requests['setup-generate']['result'] {
    this.inPhase('setup')
    this.pending = new NewPhrase()
    const { words, fingerprint, positions } = this.pending
    return { words: [...words], fingerprint, positions: [...positions] }
  }

  /**
   * Checks the words typed back for the positions `setup-generate` named, in order. Each call
   * starts over (the page sends them all at once); the first wrong one is named.
   */
  private confirmWords(args: Args): Requests['setup-confirm']['result'] {
    this.inPhase('setup')
    const phrase = this.pending
    if (!phrase) throw new ShellError('BAD_REQUEST', 'Generate the words first')
    const words = args['words']
    if (
      !Array.isArray(words) ||
      words.length !== phrase.positions.length ||
      !words.every((w) => typeof w === 'string' && w.length <= 64)
    ) {
      throw new ShellError('BAD_REQUEST', `words must be the ${phrase.positions.length} words asked for`)
    }
    phrase.restart()
    for (const word of words as string[]) {
      if (!phrase.confirm(word)) return { confirmed: false, wrong: phrase.next }
    }
    return { confirmed: true, wrong: null }
  }

  private preview(args: Args): { fingerprint: string } {
    this.inPhase('setup', 'unlock')
    const source = oneOf(args, 'source', ['phrase', 'secret-key'] as const)
    return { fingerprint: imported(source, requiredString(args, 'value')).fingerprint }
  }

  private async create(args: Args): Promise<StateView> {
    this.inPhase('setup', 'unlock')
    const source = oneOf(args, 'source', ['new', 'phrase', 'secret-key'] as const)
    if (source === 'new' && !this.pending) throw new ShellError('BAD_REQUEST', 'Generate the words first')
    // PHRASE_NOT_CONFIRMED, from the library, until the page typed the asked words back.
    const identity =
      source === 'new' ? this.pending!.identity() : imported(source, requiredString(args, 'value'))
    const account = this.options.account ?? optionalString(args, 'account') ?? this.setup!.account
    const password = this.options.password ?? choosePassword(args)
    if (await accountExists(this.options.storage!, account)) {
      throw BackspaceError.ACCOUNT_EXISTS(`Account "${account}" exists; open it instead`)
    }
    // The library saves the account from the phrase, encrypted when there is a password.
    await this.open({ account, password, phrase: identity.phrase })
    this.pending = null
    return this.state()
  }

  private async openAccount(args: Args): Promise<StateView> {
    this.inPhase('setup', 'unlock')
    const account = requiredString(args, 'account')
    if (!(await accountExists(this.options.storage!, account))) {
      throw BackspaceError.ACCOUNT_NOT_FOUND(account)
    }
    await this.open({ account, password: optionalString(args, 'password') || undefined })
    return this.state()
  }

  private async link(args: Args): Promise<StateView> {
    this.inPhase('setup', 'unlock')
    const account = this.options.account ?? optionalString(args, 'account') ?? this.setup!.account
    if (await accountExists(this.options.storage!, account)) {
      throw BackspaceError.ACCOUNT_EXISTS(`Account "${account}" exists; link the new device into another account`)
    }
    await this.open({
      account,
      password: this.options.password ?? choosePassword(args),
      link: requiredString(args, 'link'),
      deviceName: optionalString(args, 'deviceName') || this.options.deviceName
    })
    return this.state()
  }

  /** Closes a node that waits for approval; its open fails with NODE_CLOSED. */
  private async cancelLink(): Promise<{}> {
    if (this.phase !== 'opening' || !this.node?.linking) {
      throw new ShellError('WRONG_PHASE', 'No device link is waiting')
    }
    await this.node.close()
    return {}
  }

  private async answerDevice(args: Args): Promise<{ device: DeviceView | null }> {
    this.chatNode()
    const approve = args['approve']
    if (typeof approve !== 'boolean') throw new ShellError('BAD_REQUEST', 'approve must be true or false')
    const request = this.request_
    if (!request) throw new ShellError('BAD_REQUEST', 'No device is waiting for an answer')
    try {
      if (!approve) {
        await request.deny()
        return { device: null }
      }
      return { device: deviceView(await request.approve()) }
    } finally {
      this.endRequest(request)
    }
  }

  private endRequest(request: DeviceRequest): void {
    if (this.request_ !== request) return
    this.request_ = null
    this.broadcast('device-request', null)
  }

  /** Opens the node; on failure the page stays on its screen and shows why. */
  private async open(opts: BackspaceOptions): Promise<StateView> {
    if (this.phase === 'opening' || this.phase === 'chat') {
      throw new ShellError('WRONG_PHASE', 'A node is already open or opening')
    }
    const back = this.phase
    // Made before the state goes out: a linking node's fingerprint is part of it.
    const node = new Backspace({
      storage: this.options.storage,
      bootstrap: this.options.bootstrap,
      ...opts
    })
    this.node = node
    this.phase = 'opening'
    this.lastError = null
    this.broadcast('state', this.state())
    try {
      await node.ready()
    } catch (err) {
      this.node = null
      await node.close().catch(() => {})
      this.phase = back
      this.lastError = errorView(err)
      // A failed create may still have saved the account; the list shows it.
      if (this.options.storage && opts.account) await this.refreshSetup(opts.account)
      this.broadcast('state', this.state())
      throw err
    }
    if (this.phase !== 'opening') {
      // Closed while opening.
      await node.close()
      throw BackspaceError.NODE_CLOSED()
    }
    this.encrypted =
      !node.incognito && this.options.storage !== undefined
        ? await accountIsEncrypted(this.options.storage, node.account).catch(() => false)
        : false
    this.attach(node)
    this.phase = 'chat'
    this.broadcast('state', this.state())
    return this.state()
  }

  private accountSettings(): AccountSettingsView {
    const node = this.node!
    const saved = !node.incognito && this.options.storage !== undefined && this.ownsNode
    return { encrypted: this.encrypted, saved, canSwitch: saved && this.options.account === undefined }
  }

  /** The open account, saved on disk: what the account settings act on. */
  private savedAccount(): { storage: string; account: string } {
    const node = this.chatNode()
    if (!this.accountSettings().saved) throw BackspaceError.INCOGNITO('This account is not saved on this device')
    return { storage: this.options.storage!, account: node.account }
  }

  private async changePassword(args: Args): Promise<AccountSettingsView> {
    const { storage, account } = this.savedAccount()
    const next = args['next'] === null ? undefined : requiredString(args, 'next')
    if (next === '') throw new ShellError('BAD_REQUEST', 'next must be a non-empty string, or null for none')
    await changeAccountPassword(storage, account, optionalString(args, 'current') || undefined, next)
    this.encrypted = next !== undefined
    return this.accountSettings()
  }

  private async revealPhrase(args: Args): Promise<{ words: string[] }> {
    const { storage, account } = this.savedAccount()
    const identity = await loadAccount(storage, account, { password: optionalString(args, 'password') || undefined })
    return { words: identity.phrase.split(' ') }
  }

  private async switchAccount(): Promise<StateView> {
    const node = this.chatNode()
    if (!this.accountSettings().canSwitch) throw new ShellError('WRONG_PHASE', 'This shell was started for one account')
    for (const detach of this.detachers.values()) detach()
    this.detachers.clear()
    this.node = null
    this.request_ = null
    this.phase = 'setup'
    this.lastError = null
    await node.close()
    await this.refreshSetup(node.account)
    this.broadcast('state', this.state())
    return this.state()
  }

  // -------------------------------------------------------------------------
  // Chat
  // -------------------------------------------------------------------------

  private attach(node: Backspace): void {
    this.node = node
    const onAdd = (room: Room) => {
      this.watch(room)
      this.broadcast('room-add', this.roomView(room))
      this.updateStatus()
    }
    const onRemove = (room: Room) => {
      this.detachers.get(room)?.()
      this.detachers.delete(room)
      this.broadcast('room-remove', { room: room.id })
      this.updateStatus()
    }
    const onProfile = (_profile: Profile) => this.broadcast('identity', this.identityView())
    const onUnread = (room: string, counts: UnreadCounts) =>
      this.broadcast('unread', { room, unread: counts.unread, mentions: counts.mentions })
    node.on('unread', onUnread)
    const onDeviceRequest = (request: DeviceRequest) => {
      this.request_ = request
      this.broadcast('device-request', requestView(request))
    }
    const onDevices = (devices: DeviceInfo[]) => {
      // Answered another way (/device approve in the composer): the page's question is moot.
      if (this.request_ && node.devices.pending !== this.request_) this.endRequest(this.request_)
      this.broadcast('devices', devices.map(deviceView))
    }
    node.on('room-add', onAdd)
    node.on('room-remove', onRemove)
    node.on('profile', onProfile)
    node.on('device-request', onDeviceRequest)
    node.on('device-update', onDevices)
    const onConnections = () => this.updateStatus()
    node.on('connections', onConnections)
    this.detachers.set(node, () => {
      node.off('room-add', onAdd)
      node.off('room-remove', onRemove)
      node.off('profile', onProfile)
      node.off('device-request', onDeviceRequest)
      node.off('device-update', onDevices)
      node.off('connections', onConnections)
      node.off('unread', onUnread)
    })
    for (const room of node.rooms) this.watch(room)
    this.status = this.readStatus()
  }

  private watch(room: Room): void {
    if (this.detachers.has(room)) return
    const onMessage = (m: Message) =>
      this.broadcast('message', { room: room.id, message: this.messageView(room, m) })
    const onUpdate = (m: Message) =>
      this.broadcast('message-update', { room: room.id, message: this.messageView(room, m) })
    const onWithdrawn = (m: Message) =>
      this.broadcast('message-withdrawn', { room: room.id, id: m.id })
    const onPeers = () => {
      this.broadcast('room', this.roomView(room))
      this.updateStatus()
    }
    const onAlone = () =>
      this.broadcast('notice', { room: room.id, level: 'info', text: aloneNotice(room) })
    room.on('alone', onAlone)
    room.on('message', onMessage)
    room.on('message-update', onUpdate)
    room.on('message-withdrawn', onWithdrawn)
    room.on('peer-add', onPeers)
    room.on('peer-remove', onPeers)
    this.detachers.set(room, () => {
      room.off('alone', onAlone)
      room.off('message', onMessage)
      room.off('message-update', onUpdate)
      room.off('message-withdrawn', onWithdrawn)
      room.off('peer-add', onPeers)
      room.off('peer-remove', onPeers)
    })
  }

  private roomView(room: Room): RoomView {
    return roomView(room, this.node!.unread(room.id))
  }

  private chatView(): ChatView {
    const node = this.node!
    return {
      identity: this.identityView(),
      rooms: node.rooms.map((room) => this.roomView(room)),
      status: this.readStatus(),
      quickReactions: [...QUICK_REACTIONS],
      maxMessageBytes: MAX_TEXT_BYTES,
      account: this.accountSettings()
    }
  }

  private identityView(): IdentityView {
    const node = this.node!
    return {
      fingerprint: node.identity.fingerprint,
      name: node.profile.name,
      incognito: node.incognito,
      account: node.incognito ? null : node.account
    }
  }

  private readStatus(): StatusView {
    const node = this.node!
    return { connections: node.connections, peers: node.stats().peers }
  }

  private updateStatus(): void {
    if (!this.node || this.phase !== 'chat') return
    const next = this.readStatus()
    if (next.connections === this.status.connections && next.peers === this.status.peers) return
    this.status = next
    this.broadcast('status', next)
  }

  /** One message as the page shows it; `ref` when a page of them chose the references. */
  private messageView(
    room: Room,
    m: Message,
    ref = messageRef(m.id),
    names?: Map<string, string>
  ): MessageView {
    const reply = m.replyTo
    return {
      id: m.id,
      author: m.author.toString('hex'),
      fingerprint: m.fingerprint,
      name: m.name,
      text: m.text,
      kind: m.kind,
      timestamp: m.timestamp,
      seq: m.seq,
      self: m.self,
      mention: m.mention,
      order: messageOrderKey(m),
      ref,
      edited: m.edited,
      deleted: m.deleted,
      replyTo: reply
        ? {
            id: reply.id,
            loaded: reply.loaded,
            name: reply.name,
            fingerprint: reply.fingerprint,
            text: reply.text,
            deleted: reply.deleted
          }
        : null,
      reactions: m.reactions.map((r): ReactionView => {
        names ??= memberNames(room)
        const who = r.authors.slice(0, MAX_WHO).map((key) => {
          const hex = key.toString('hex')
          return names!.get(hex) ?? hex.slice(0, 8)
        })
        return { emoji: r.emoji, count: r.count, self: r.self, who }
      })
    }
  }

  /** Runs one action on a message; a failure is the library's code with one sentence. */
  private async act(
    action: MessageAction,
    args: Args,
    fn: (room: Room, id: string) => Promise<Message | void>
  ): Promise<MessageView | {}> {
    const room = this.room(args)
    const id = requiredString(args, 'message')
    let done: Message | void
    try {
      done = await fn(room, id)
    } catch (err) {
      if (isBackspaceError(err))
        throw new BackspaceError(err.code, describeMessageError(err, action))
      throw err
    }
    return done ? this.messageView(room, done) : {}
  }

  private room(args: Args, key = 'room'): Room {
    const id = requiredString(args, key)
    const room = this.chatNode().room(id)
    if (!room) throw new ShellError('UNKNOWN_ROOM', 'No open room has this id')
    return room
  }

  private optionalRoom(args: Args): Room | undefined {
    return args['room'] === null || args['room'] === undefined ? undefined : this.room(args)
  }

  private async messages(args: Args): Promise<Requests['messages']['result']> {
    const room = this.room(args)
    const limit = optionalInteger(args, 'limit') ?? PAGE
    const messages = await room.messages({ limit, before: optionalString(args, 'before') })
    const refs = shortRefs(messages)
    const names = memberNames(room)
    return {
      room: room.id,
      messages: messages.map((m) => this.messageView(room, m, refs.get(m.id), names)),
      more: messages.length === limit
    }
  }

  /** One line from the composer, run by the library's command executor as in the terminal. */
  private async line(args: Args): Promise<LineResult> {
    const node = this.chatNode()
    const room = this.optionalRoom(args)
    const text = requiredString(args, 'text')
    const selected = optionalString(args, 'selected')
    const command = parseCommand(text)
    if (room && selected !== undefined && command.type === 'say') {
      // A plain line while a message is picked answers it.
      await this.act('reply', { ...args, message: selected }, (r, id) =>
        r.send(command.text, { replyTo: id })
      )
      return { notices: [], room: null, left: null, clear: false, quit: false, help: null, failed: false }
    }
    const result = await runCommand(node, text, { room, selected })
    // /device approve or deny answered the request the page shows.
    if (this.request_ && node.devices.pending !== this.request_) this.endRequest(this.request_)
    // After this answer has gone out: closing the shell closes the page's socket too.
    if (result.quit) setImmediate(() => this.emit('quit'))
    return {
      notices: result.notices,
      room: result.room?.id ?? null,
      left: result.left?.id ?? null,
      clear: !!result.clear,
      quit: !!result.quit,
      help: result.help?.map((c) => ({ usage: c.usage, description: c.description })) ?? null,
      failed:
        (result.command.type === 'say' || result.command.type === 'me') &&
        result.notices.some((n) => n.level === 'error' && n.code !== undefined)
    }
  }

  private async complete(args: Args): Promise<string[]> {
    this.chatNode()
    const room = this.optionalRoom(args)
    const messages = room ? await room.messages({ limit: PAGE }) : []
    // Members by key, so that Tab offers `@alice#34ab` when two are called alice.
    const targets = new Map<string, MentionTarget>()
    for (const m of room?.members() ?? []) if (m.name) targets.set(m.key.toString('hex'), m)
    for (const m of messages) {
      const hex = m.author.toString('hex')
      if (m.name && !targets.has(hex)) targets.set(hex, { name: m.name, key: m.author })
    }
    return completeLine(requiredString(args, 'text'), [...targets.values()], messages)
  }

  private async join(args: Args): Promise<RoomView> {
    const node = this.chatNode()
    const name = requiredString(args, 'name').trim()
    // A mistyped invite would otherwise quietly join a named room of that name.
    if (name.toLowerCase().startsWith(PREFIX) && !isInvite(name)) {
      throw BackspaceError.INVALID_INVITE()
    }
    const password = optionalString(args, 'password') || undefined
    return this.roomView(await node.join(name, { password }))
  }

  private async createRoom(args: Args): Promise<RoomView> {
    const name = optionalString(args, 'name') || undefined
    return this.roomView(await this.chatNode().createRoom({ name }))
  }

  private async read(args: Args): Promise<Requests['read']['result']> {
    const room = this.room(args)
    const counts = await this.chatNode().markRead(room.id)
    return { unread: counts.unread, mentions: counts.mentions }
  }

  private members(args: Args): MemberView[] {
    const members = this.room(args).members().map(
      (m): MemberView => ({
        key: m.key.toString('hex'),
        fingerprint: m.fingerprint,
        name: m.name,
        online: m.online,
        self: m.self
      })
    )
    const label = (m: MemberView) => m.name || m.fingerprint
    members.sort((a, b) => Number(b.online) - Number(a.online) || label(a).localeCompare(label(b)))
    // Anyone can write to a public room: the list a page holds is bounded.
    return members.slice(0, MAX_MEMBERS)
  }

  private async setName(args: Args): Promise<IdentityView> {
    await this.chatNode().setProfile({ name: requiredString(args, 'name').trim() })
    return this.identityView()
  }

  private async leave(args: Args): Promise<{}> {
    await this.room(args).leave()
    return {}
  }

  private chatNode(): Backspace {
    if (this.phase !== 'chat' || !this.node) {
      throw new ShellError('WRONG_PHASE', 'Choose an account first')
    }
    return this.node
  }

  private inPhase(...phases: Phase[]): void {
    if (!phases.includes(this.phase)) {
      throw new ShellError('WRONG_PHASE', `Not available while ${this.phase}`)
    }
  }

  private broadcast<K extends keyof Events>(name: K, data: Events[K]): void {
    this.emit('event', name, data)
  }
}

export function roomView(room: Room, counts: UnreadCounts): RoomView {
  return {
    id: room.id,
    name: room.name,
    kind: room.kind,
    peers: room.stats.peers,
    invite: room.invite,
    unread: counts.unread,
    mentions: counts.mentions,
    locked: room.locked,
    tag: roomTag(room.id)
  }
}

/** Display names by identity key (hex): a name, or the fingerprint when there is none. */
function memberNames(room: Room): Map<string, string> {
  const names = new Map<string, string>()
  for (const m of room.members()) names.set(m.key.toString('hex'), m.name || m.fingerprint)
  return names
}

export function deviceView(d: DeviceInfo): DeviceView {
  return {
    key: d.key.toString('hex'),
    fingerprint: d.fingerprint,
    name: d.name,
    createdAt: d.createdAt,
    primary: d.primary,
    current: d.current,
    revoked: d.revoked
  }
}

function requestView(r: DeviceRequest): DeviceRequestView {
  return { key: r.key.toString('hex'), fingerprint: r.fingerprint, name: r.name }
}

export function errorView(err: unknown): ErrorView {
  if (isBackspaceError(err) || err instanceof ShellError) {
    return { code: err.code, message: err.message }
  }
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) }
}

function imported(source: 'phrase' | 'secret-key', value: string): Identity {
  return source === 'phrase' ? Identity.fromPhrase(value) : Identity.fromSecretKey(value)
}

/** A new account's password: a string, or null for the explicit choice of none. */
function choosePassword(args: Args): string | undefined {
  const value = args['password']
  if (value === null) return undefined
  if (typeof value !== 'string' || value === '') {
    throw new ShellError('BAD_REQUEST', 'password must be a non-empty string, or null for none')
  }
  return value
}

function optionalString(args: Args, key: string): string | undefined {
  const value = args[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw new ShellError('BAD_REQUEST', `${key} must be a string`)
  return value
}

function requiredString(args: Args, key: string): string {
  const value = optionalString(args, key)
  if (value === undefined) throw new ShellError('BAD_REQUEST', `${key} is required`)
  return value
}

function optionalInteger(args: Args, key: string): number | undefined {
  const value = args[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ShellError('BAD_REQUEST', `${key} must be an integer`)
  }
  return value
}

function oneOf<T extends string>(args: Args, key: string, values: readonly T[]): T {
  const value = args[key]
  if (typeof value !== 'string' || !values.includes(value as T)) {
    throw new ShellError('BAD_REQUEST', `${key} must be one of ${values.join(', ')}`)
  }
  return value as T
}
