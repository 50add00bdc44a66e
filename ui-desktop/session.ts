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
  ChatModel,
  fingerprint,
  Identity,
  isBackspaceError,
  isContactLink,
  isInvite,
  MEMBER_ACTIONS,
  memberActionRefusal,
  memberActions,
  listAccounts,
  parseContactLink,
  MAX_TEXT_BYTES,
  NewPhrase,
  parseCommand,
  roomTag,
  runCommand,
  type BackspaceOptions,
  type ChatAction,
  type DeviceInfo,
  type GovernanceEvent,
  type DeviceRequest,
  type Message,
  type Profile,
  type Room
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
  DmView,
  ErrorView,
  Events,
  FriendRequestView,
  FriendView,
  GovernanceView,
  IdentityView,
  LineResult,
  MemberView,
  MessageView,
  ModerationAction,
  Phase,
  ReactionView,
  Requests,
  RequestType,
  RoomSettingsPatch,
  RoomSettingsView,
  RoomView,
  SentRequestView,
  SetupView,
  ShellErrorCode,
  SocialView,
  StaffView,
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
// Friends, requests, DMs, blocks and staff listed at most: a view a page holds is bounded.
const MAX_LIST = 500
// A friend request's note, in UTF-8 bytes (the library caps it too).
const MAX_NOTE_BYTES = 1024

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
  // Listeners on the node and the chat model, removed on close.
  private readonly detachers = new Map<object, () => void>()
  // The library's chat model over the open node: rooms, unread counts, room events.
  private model: ChatModel | null = null
  // A 'social' event is queued for the next turn.
  private socialQueued = false
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
      profile: async (args) => this.setName(args),
      member: async (args) => this.member(args),
      social: async () => this.socialView(),
      'friend-request': async (args) => this.requestFriend(args),
      'friend-answer': async (args) => this.answerFriend(args),
      'friend-remove': async (args) => {
        await this.chatNode().friends.remove(identityKey(args))
        return this.socialView()
      },
      block: async (args) => this.setBlocked(args),
      dm: async (args) => this.roomView(await this.chatNode().dm(identityKey(args))),
      moderate: async (args) => this.moderate(args),
      'room-settings': async (args) => this.roomSettings(this.room(args)),
      'room-settings-set': async (args) => this.setRoomSettings(args)
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
    await session.attach(node)
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
      const model = this.model
      for (const detach of this.detachers.values()) detach()
      this.detachers.clear()
      await model?.close()
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
    await this.attach(node)
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
    const model = this.model
    for (const detach of this.detachers.values()) detach()
    this.detachers.clear()
    await model?.close()
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

  // The library's chat model renders the node: the room list (DMs too), unread counts, and
  // each room's events. The shell forwards its actions to the pages one at a time; which room a
  // page shows is the page's, so the model runs without an active room.
  private async attach(node: Backspace): Promise<void> {
    this.node = node
    const model = new ChatModel(node, { activeRoom: false, historyLimit: PAGE })
    this.model = model
    const onAction = (action: ChatAction) => this.forward(action)
    const onGovernance = (event: GovernanceEvent, key: string) => {
      const room = model.room(key)
      if (!room) return
      // Replayed operations (a late join, a restart, history caught up with) change the room's
      // state, not its timeline: the chat model folds them, and so does the page.
      if (!event.replayed) this.broadcast('governance', { room: key, event: governanceView(room, event) })
      this.broadcast('room', this.roomView(room))
    }
    const onProfile = (_profile: Profile) => this.broadcast('identity', this.identityView())
    const onDeviceRequest = (request: DeviceRequest) => {
      this.request_ = request
      this.broadcast('device-request', requestView(request))
    }
    const onDevices = (devices: DeviceInfo[]) => {
      // Answered another way (/device approve in the composer): the page's question is moot.
      if (this.request_ && node.devices.pending !== this.request_) this.endRequest(this.request_)
      this.broadcast('devices', devices.map(deviceView))
    }
    const onSocial = () => this.socialChanged()
    model.on('action', onAction)
    model.on('governance', onGovernance)
    node.on('profile', onProfile)
    node.on('device-request', onDeviceRequest)
    node.on('device-update', onDevices)
    node.on('friend-update', onSocial)
    node.on('friend-request', onSocial)
    this.detachers.set(node, () => {
      model.off('action', onAction)
      model.off('governance', onGovernance)
      node.off('profile', onProfile)
      node.off('device-request', onDeviceRequest)
      node.off('device-update', onDevices)
      node.off('friend-update', onSocial)
      node.off('friend-request', onSocial)
      this.model = null
      void model.close()
    })
    await model.ready()
    this.status = this.readStatus()
  }

  /** One action of the chat model, as the event the pages take. */
  private forward(action: ChatAction): void {
    if (this.phase !== 'chat') return
    switch (action.type) {
      case 'room-add':
      case 'peers':
      case 'members': {
        const room = this.model?.room(action.key)
        if (!room) return
        this.broadcast(action.type === 'room-add' ? 'room-add' : 'room', this.roomView(room))
        if (action.type === 'room-add' && room.kind === 'dm') this.socialChanged()
        return this.updateStatus()
      }
      case 'room-remove':
        this.broadcast('room-remove', { room: action.key })
        return this.updateStatus()
      case 'message':
      case 'update': {
        const room = this.model?.room(action.key)
        if (!room) return
        const name = action.type === 'message' ? 'message' : 'message-update'
        return this.broadcast(name, { room: action.key, message: this.messageView(room, action.message) })
      }
      case 'withdrawn':
        return this.broadcast('message-withdrawn', { room: action.key, id: action.id })
      case 'unread': {
        this.broadcast('unread', { room: action.key, unread: action.unread, mentions: action.mentions })
        // The DM list carries the counts too.
        if (this.model?.room(action.key)?.kind === 'dm') this.socialChanged()
        return
      }
      case 'connections':
        return this.updateStatus()
      case 'notice': {
        // The model's notices that belong to one room and that the page words itself: the
        // `alone` sentence, and members coming, going and taking another name, as data.
        const n = action.notice
        const room = action.room ? this.model?.room(action.room) : undefined
        if (!room) return
        if (n.kind === 'alone') this.broadcast('notice', { room: room.id, level: 'info', text: aloneNotice(room) })
        else if (n.kind === 'member-join' || n.kind === 'member-leave') {
          const kind = n.kind === 'member-join' ? 'join' : 'leave'
          this.broadcast('member-line', { room: room.id, kind, name: n.name, from: '', fingerprint: n.fingerprint, time: action.time })
        } else if (n.kind === 'member-rename') {
          this.broadcast('member-line', { room: room.id, kind: 'rename', name: n.to, from: n.from, fingerprint: n.fingerprint, time: action.time })
        }
        return
      }
      default:
        return
    }
  }

  // Friends, requests and DMs changed: one event with the whole (bounded) view, coalesced.
  private socialChanged(): void {
    if (this.socialQueued) return
    this.socialQueued = true
    setImmediate(() => {
      this.socialQueued = false
      if (this.phase === 'chat' && this.node) this.broadcast('social', this.socialView())
    })
  }

  private socialView(): SocialView {
    const node = this.chatNode()
    if (node.incognito) return { available: false, friends: [], requests: [], sent: [], dms: [], blocked: [], contactLink: '' }
    const friends = node.friends.list().slice(0, MAX_LIST).map(
      (f): FriendView => ({ key: hex(f.key), name: f.name, fingerprint: f.fingerprint, online: f.online, since: f.since })
    )
    const label = (x: { name: string; fingerprint: string }) => x.name || x.fingerprint
    friends.sort((a, b) => Number(b.online) - Number(a.online) || label(a).localeCompare(label(b)))
    return {
      available: true,
      friends,
      requests: node.friends.requests().slice(0, MAX_LIST).map(
        (r): FriendRequestView => ({
          key: hex(r.from),
          name: r.name,
          fingerprint: r.fingerprint,
          text: r.text,
          timestamp: r.timestamp
        })
      ),
      sent: node.friends.sent().slice(0, MAX_LIST).map(
        (r): SentRequestView => ({ key: hex(r.key), name: r.name, fingerprint: r.fingerprint, text: r.text, at: r.at })
      ),
      dms: node.dms.slice(0, MAX_LIST).map(
        (d): DmView => ({
          key: hex(d.key),
          name: d.name,
          fingerprint: d.fingerprint,
          room: d.room.id,
          online: d.online,
          unread: d.unread.unread
        })
      ),
      blocked: node.blocked().slice(0, MAX_LIST).map((key) => ({ key: hex(key), fingerprint: fingerprint(key) })),
      contactLink: node.contactLink
    }
  }

  private roomView(room: Room): RoomView {
    const staff: StaffView[] = []
    const seen = new Set<string>()
    const owner = room.owner
    if (owner) {
      staff.push({ key: hex(owner), role: 'owner' })
      seen.add(hex(owner))
    }
    for (const m of room.members()) {
      const key = hex(m.key)
      if (seen.has(key) || staff.length >= MAX_LIST) continue
      seen.add(key)
      const role = room.role(m.key)
      if (role === 'admin' || role === 'op') staff.push({ key, role })
    }
    const counts = this.node!.unread(room.id)
    const role = room.role(this.node!.publicKey)
    return {
      id: room.id,
      name: room.name,
      kind: room.kind,
      peers: room.stats.peers,
      invite: room.invite,
      unread: counts.unread,
      mentions: counts.mentions,
      locked: room.locked,
      tag: roomTag(room.id),
      topic: room.settings.topic,
      announcement: room.settings.announcement,
      role,
      canEditSettings: mayEditSettings(room, role),
      staff
    }
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
    this.chatNode()
    const room = this.model?.room(id)
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

  /**
   * Tab completion from the chat model, as in the terminal: its members and loaded messages of
   * the room, never a fetch of its own.
   */
  private complete(args: Args): string[] {
    this.chatNode()
    const room = this.optionalRoom(args)
    const text = requiredString(args, 'text')
    if (!this.model) throw new ShellError('WRONG_PHASE', 'Choose an account first')
    return this.model.complete(text, room?.id ?? null)
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
    const room = this.room(args)
    const view = this.model?.state.rooms.find((r) => r.key === room.id)
    const members = (view?.members ?? room.members()).map(
      (m): MemberView => ({
        key: m.key.toString('hex'),
        fingerprint: m.fingerprint,
        name: m.name,
        online: m.online,
        self: m.self,
        role: room.role(m.key),
        actions: this.moderationActions(room, m.key)
      })
    )
    const label = (m: MemberView) => m.name || m.fingerprint
    members.sort((a, b) => Number(b.online) - Number(a.online) || label(a).localeCompare(label(b)))
    // Anyone can write to a public room: the list a page holds is bounded.
    return members.slice(0, MAX_MEMBERS)
  }

  /**
   * One identity as a profile card shows it: from the room's members when it is one, else
   * from the key alone (a name in an old message, a friend).
   */
  private member(args: Args): MemberView {
    const node = this.chatNode()
    const key = identityKey(args)
    const room = args['room'] === null || args['room'] === undefined ? undefined : this.room(args)
    const view = room ? this.model?.state.rooms.find((r) => r.key === room.id) : undefined
    const m = view?.members.find((x) => x.key.equals(key))
    const friend = node.friends.list().find((f) => f.key.equals(key))
    return {
      key: hex(key),
      fingerprint: fingerprint(key),
      name: m?.name || friend?.name || optionalName(args),
      online: m?.online ?? friend?.online ?? false,
      self: key.equals(node.publicKey),
      role: room ? room.role(key) : 'member',
      actions: room ? this.moderationActions(room, key) : []
    }
  }

  /**
   * What this identity may do to `key` in `room`: the library's `memberActions` for the two
   * roles. Nothing in a DM, to yourself, or while the room has no owner (acting would claim it:
   * Room settings says so, a profile button would not).
   */
  private moderationActions(room: Room, key: Buffer): ModerationAction[] {
    const me = this.chatNode().publicKey
    if (room.kind === 'dm' || room.owner === null || key.equals(me)) return []
    return memberActions(room.role(me), room.role(key))
  }

  /**
   * One moderation action from a profile card, through `room.moderate`. The page is not
   * trusted: the action, the key and the reason are checked here, an action the card would not
   * offer is refused with a sentence, and the library checks the role again.
   */
  private async moderate(args: Args): Promise<MemberView> {
    const node = this.chatNode()
    const room = this.room(args)
    const key = identityKey(args)
    const action = oneOf(args, 'action', MEMBER_ACTIONS)
    const reason = optionalString(args, 'reason')
    if (reason !== undefined && reason !== '' && action !== 'kick' && action !== 'ban') {
      throw new ShellError('BAD_REQUEST', 'only a kick or a ban takes a reason')
    }
    if (reason !== undefined && Buffer.byteLength(reason) > MAX_REASON_BYTES) {
      throw new ShellError('BAD_REQUEST', `reason must be at most ${MAX_REASON_BYTES} bytes`)
    }
    const who = this.member({ room: room.id, key: hex(key) })
    const label = who.name ? `${who.name} (${who.fingerprint})` : who.fingerprint
    const refused = () => {
      if (who.self) return `You cannot moderate yourself.`
      if (room.kind === 'dm') return 'Nobody moderates a direct message.'
      if (room.owner === null) return 'Nobody owns this room yet: claim it in Room settings first.'
      return memberActionRefusal(action, label, room.role(node.publicKey), room.role(key))
    }
    if (!this.moderationActions(room, key).includes(action)) throw BackspaceError.NOT_ALLOWED(refused())
    const m = room.moderate
    try {
      if (action === 'kick' || action === 'ban') await m[action](key, reason || undefined)
      else await m[action](key)
    } catch (err) {
      // The roles changed under the page (a concurrent deop): said as a sentence too.
      if (isBackspaceError(err, 'NOT_ALLOWED')) throw BackspaceError.NOT_ALLOWED(refused())
      throw err
    }
    return this.member({ room: room.id, key: hex(key) })
  }

  private async requestFriend(args: Args): Promise<SocialView> {
    const node = this.chatNode()
    const text = optionalString(args, 'text') ?? ''
    if (Buffer.byteLength(text) > MAX_NOTE_BYTES) {
      throw new ShellError('BAD_REQUEST', `text must be at most ${MAX_NOTE_BYTES} bytes`)
    }
    await node.friends.request(friendTarget(args), text)
    return this.socialView()
  }

  /** Accepts, declines or blocks a request that arrived; accepting answers with the DM. */
  private async answerFriend(args: Args): Promise<{ room: RoomView | null; social: SocialView }> {
    const node = this.chatNode()
    const key = identityKey(args)
    const answer = oneOf(args, 'answer', ['accept', 'decline', 'block'] as const)
    const request = node.friends.requests().find((r) => r.from.equals(key))
    if (!request) throw new ShellError('BAD_REQUEST', 'No friend request from this key is waiting')
    let room: RoomView | null = null
    if (answer === 'accept') room = this.roomView(await request.accept())
    else if (answer === 'decline') await request.decline()
    else await request.block()
    return { room, social: this.socialView() }
  }

  private async setBlocked(args: Args): Promise<SocialView> {
    const node = this.chatNode()
    const key = identityKey(args)
    const blocked = args['blocked']
    if (typeof blocked !== 'boolean') throw new ShellError('BAD_REQUEST', 'blocked must be true or false')
    if (key.equals(node.publicKey)) throw new ShellError('BAD_REQUEST', 'You cannot block yourself')
    if (blocked) await node.block(key)
    else await node.unblock(key)
    return this.socialView()
  }

  private roomSettings(room: Room): RoomSettingsView {
    const role = room.role(this.chatNode().publicKey)
    const owner = room.owner
    return {
      room: room.id,
      settings: { ...room.settings },
      role,
      owner: owner ? fingerprint(owner) : null,
      canEdit: mayEditSettings(room, role)
    }
  }

  /**
   * Changes a room's settings through `room.moderate`, one operation per field that differs.
   * Every field is checked here first (the page is not trusted); the library checks the role
   * and the bounds and answers NOT_ALLOWED or INVALID_ARGUMENT.
   */
  private async setRoomSettings(args: Args): Promise<RoomSettingsView> {
    const room = this.room(args)
    const patch = settingsPatch(args['patch'])
    const now = room.settings
    const m = room.moderate
    if (patch.topic !== undefined && patch.topic !== now.topic) await m.topic(patch.topic)
    if (patch.announcement !== undefined && patch.announcement !== now.announcement) await m.announce(patch.announcement)
    if (patch.welcome !== undefined && patch.welcome !== now.welcome) await m.welcome(patch.welcome)
    const set: Parameters<typeof m.set>[0] = {}
    if (patch.slowMode !== undefined && patch.slowMode !== now.slowMode) set.slowMode = patch.slowMode
    if (patch.maxUsers !== undefined && patch.maxUsers !== now.maxUsers) set.maxUsers = patch.maxUsers
    if (patch.ttl !== undefined && patch.ttl !== now.ttl) set.ttl = patch.ttl
    if (patch.allowAnonymous !== undefined && patch.allowAnonymous !== now.allowAnonymous) {
      set.allowAnonymous = patch.allowAnonymous
    }
    if (Object.keys(set).length > 0) await m.set(set)
    if (patch.locked !== undefined && patch.locked !== now.locked) await (patch.locked ? m.lock() : m.unlock())
    return this.roomSettings(room)
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

/** Owner or admin, or a room nobody owns yet (acting claims it). */
function mayEditSettings(room: Room, role: string): boolean {
  return role === 'owner' || role === 'admin' || (room.owner === null && room.kind !== 'dm')
}

function hex(key: Buffer): string {
  return key.toString('hex')
}

// A kick or ban reason, in UTF-8 bytes (the library bounds governance text too).
const MAX_REASON_BYTES = 1024

/**
 * Whom a friend request goes to: `key` (64 hex digits, from a profile), or `who`, what was
 * pasted in the friends panel: a key, or a contact link whose checksum holds.
 */
function friendTarget(args: Args): Buffer | string {
  if (args['who'] === undefined) return identityKey(args)
  if (args['key'] !== undefined) throw new ShellError('BAD_REQUEST', 'give key or who, not both')
  const who = requiredString(args, 'who').trim()
  if (who.length > 4096) throw new ShellError('BAD_REQUEST', 'who is too long for a key or a contact link')
  if (/^[0-9a-f]{64}$/i.test(who)) return Buffer.from(who, 'hex')
  if (isContactLink(who)) {
    // INVALID_INVITE with a sentence for a typo or a cut link: nothing is sent.
    parseContactLink(who)
    return who
  }
  throw BackspaceError.INVALID_ARGUMENT(
    'That is neither a contact link (it starts with backspace-contact:) nor an identity key (64 hex digits). Ask them for their contact link: it is in their friends panel.'
  )
}

/** `key`: an identity's public key, 64 hex digits. */
function identityKey(args: Args): Buffer {
  const value = args['key']
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/i.test(value)) {
    throw new ShellError('BAD_REQUEST', 'key must be an identity key in hex (64 digits)')
  }
  return Buffer.from(value, 'hex')
}

/** A name the page already showed for a key, as a fallback for the card. Never trusted. */
function optionalName(args: Args): string {
  const value = args['name']
  return typeof value === 'string' ? value.slice(0, 64) : ''
}

const TEXT_SETTINGS = ['topic', 'announcement', 'welcome'] as const
const COUNT_SETTINGS = ['slowMode', 'maxUsers', 'ttl'] as const
const FLAG_SETTINGS = ['allowAnonymous', 'locked'] as const

/** The settings a page may change, checked field by field; anything else is refused. */
function settingsPatch(value: unknown): RoomSettingsPatch {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ShellError('BAD_REQUEST', 'patch must be an object')
  }
  const input = value as Record<string, unknown>
  const known = new Set<string>([...TEXT_SETTINGS, ...COUNT_SETTINGS, ...FLAG_SETTINGS])
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw new ShellError('BAD_REQUEST', `patch.${key} is not a room setting`)
  }
  const patch: RoomSettingsPatch = {}
  for (const key of TEXT_SETTINGS) {
    const v = input[key]
    if (v === undefined) continue
    if (typeof v !== 'string' || v.length > 4096) throw new ShellError('BAD_REQUEST', `patch.${key} must be a string`)
    patch[key] = v
  }
  for (const key of COUNT_SETTINGS) {
    const v = input[key]
    if (v === undefined) continue
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new ShellError('BAD_REQUEST', `patch.${key} must be a whole number, 0 or more`)
    }
    patch[key] = v
  }
  for (const key of FLAG_SETTINGS) {
    const v = input[key]
    if (v === undefined) continue
    if (typeof v !== 'boolean') throw new ShellError('BAD_REQUEST', `patch.${key} must be true or false`)
    patch[key] = v
  }
  return patch
}

/** A governance operation as one timeline line: who did what to whom, by name and key. */
function governanceView(room: Room, e: GovernanceEvent): GovernanceView {
  const names = memberNames(room)
  const who = (key: Buffer | null) =>
    key === null ? null : { key: hex(key), name: nameOf(names, key), fingerprint: fingerprint(key) }
  let value: string | number | boolean | null = null
  if (e.setting !== null) value = e.settings[e.setting]
  return {
    id: e.id,
    action: e.action,
    actor: who(e.actor)!,
    target: who(e.target),
    text: e.text,
    setting: e.setting,
    value,
    self: e.self,
    time: e.timestamp
  }
}

function nameOf(names: Map<string, string>, key: Buffer): string {
  const name = names.get(hex(key)) ?? ''
  // memberNames falls back to the fingerprint: the view carries that apart.
  return name === fingerprint(key) ? '' : name
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
