/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The page's state and what changes it: the shell's events, the answers to its requests and the
// user's choices. Components read snapshots (a new object on every change) and call actions;
// message objects are kept as they are unless that message changed, so a list keyed by id
// redraws only what changed.
import type {
  AccountSettingsView,
  DeviceRequestView,
  ErrorView,
  Events,
  GovernanceView,
  IdentityView,
  LineResult,
  LinkingView,
  MemberView,
  MessageView,
  Phase,
  RoomSettingsView,
  RoomView,
  SetupView,
  SocialView,
  StateView,
  StatusView
} from '../protocol.js'
import { ShellLink, type LinkState } from './link.js'
import { governanceLine, memberLine, roleMark, roomLabel, sentence } from './text.js'

const PAGE = 50
// Notices are transient: a long session keeps the last ones per room.
const MAX_NOTICES = 200

export interface NoticeLine {
  /** Unique in the page: the list's key. */
  key: number
  level: 'info' | 'error'
  text: string
  /** /help: the commands as a table. */
  table: { usage: string; description: string }[] | null
  time: number
  /** `member`: someone came, went or took another name (drawn quieter). */
  kind: 'text' | 'member'
}

export interface PageState {
  link: LinkState
  phase: Phase | null
  setup: SetupView | null
  linking: LinkingView | null
  /** Why the last attempt to open a node failed. */
  error: ErrorView | null
  me: IdentityView | null
  /** What Settings offers for the open account. */
  account: AccountSettingsView | null
  rooms: RoomView[]
  status: StatusView
  quickReactions: string[]
  maxBytes: number
  /** The id of the room shown. */
  current: string | null
  /** Its messages, in the library's order (by order key). */
  messages: MessageView[]
  /** Older messages may exist. */
  more: boolean
  /** The first message that was unread when the room was opened: the divider goes above it. */
  divider: string | null
  /** Room id ('' for none) -> its notices. */
  notices: Record<string, NoticeLine[]>
  /** Room id -> the messages /clear hid. */
  hidden: Record<string, ReadonlySet<string>>
  replyTo: MessageView | null
  /** The id of the message edited in place. */
  editing: string | null
  /** The id of the message whose reaction picker is open. */
  picker: string | null
  deviceRequest: DeviceRequestView | null
  /** The member list of the room shown, while the panel is open. */
  members: MemberView[] | null
  /** The member whose profile card is open. */
  profile: MemberView | null
  /** The page is on screen (not a hidden tab or a minimised window). */
  visible: boolean
  /** Friends, requests, DMs and blocks, as the shell last said. */
  social: SocialView | null
  /** The settings panel of the room shown, while open. */
  roomSettings: RoomSettingsView | null
}

type Listener = () => void

export class PageStore {
  state: PageState
  readonly link: ShellLink
  private readonly listeners = new Set<Listener>()
  private nextNotice = 1
  private refreshing = false
  private again = false
  // While a page of messages is on its way: id -> the newest state seen (null: withdrawn).
  private during: Map<string, MessageView | null> | null = null
  private loadingOlder = false

  constructor(link: ShellLink) {
    this.link = link
    this.state = {
      link: link.state,
      phase: null,
      setup: null,
      linking: null,
      error: null,
      me: null,
      account: null,
      rooms: [],
      status: { connections: 0, peers: 0 },
      quickReactions: [],
      maxBytes: 16384,
      current: null,
      messages: [],
      more: false,
      divider: null,
      notices: {},
      hidden: {},
      replyTo: null,
      editing: null,
      picker: null,
      deviceRequest: null,
      members: null,
      profile: null,
      visible: !document.hidden,
      social: null,
      roomSettings: null
    }
    link.onState((s) => {
      this.set({ link: s })
      // After a reconnect anything may have changed: start from the whole state.
      if (s === 'up') this.link.request('state').then((v) => this.applyState(v), (e) => this.fail(e))
    })
    link.onEvent((name, data) => this.onEvent(name, data))
    document.addEventListener('visibilitychange', () => {
      this.set({ visible: !document.hidden })
      if (!document.hidden && this.state.current) this.markShown(this.state.current)
    })
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  set(patch: Partial<PageState>): void {
    this.state = { ...this.state, ...patch }
    for (const listener of this.listeners) listener()
  }

  currentRoom(): RoomView | null {
    return this.state.rooms.find((r) => r.id === this.state.current) ?? null
  }

  label(room: RoomView): string {
    if (room.kind === 'dm') {
      // A DM is named by the friend: their name, else their fingerprint.
      const dm = this.state.social?.dms.find((d) => d.room === room.id)
      if (dm) return dm.name || dm.fingerprint
    }
    return roomLabel(room, this.state.rooms)
  }

  // ---------------------------------------------------------------------------
  // The shell's events
  // ---------------------------------------------------------------------------

  private onEvent<K extends keyof Events>(name: K, data: Events[K]): void {
    const s = this.state
    switch (name) {
      case 'state':
        return this.applyState(data as StateView)
      case 'room-add': {
        const room = data as RoomView
        if (!s.rooms.some((r) => r.id === room.id)) this.set({ rooms: [...s.rooms, room] })
        return
      }
      case 'room': {
        const room = data as RoomView
        this.set({ rooms: s.rooms.map((r) => (r.id === room.id ? room : r)) })
        // Someone came or went: an open member list follows.
        if (room.id === s.current && s.members) void this.loadMembers()
        return
      }
      case 'room-remove':
        return this.removeRoom((data as Events['room-remove']).room)
      case 'message': {
        const { room, message } = data as Events['message']
        this.notify(room, message)
        if (room === s.current) this.insertMessage(message)
        return
      }
      case 'message-update': {
        const { room, message } = data as Events['message-update']
        if (room === s.current) this.updateMessage(message)
        return
      }
      case 'message-withdrawn': {
        const { room, id } = data as Events['message-withdrawn']
        if (room === s.current) this.removeMessage(id)
        return
      }
      case 'unread': {
        const u = data as Events['unread']
        this.set({
          rooms: s.rooms.map((r) =>
            r.id === u.room ? { ...r, unread: u.unread, mentions: u.mentions } : r
          )
        })
        // The room on screen is read as messages arrive in it.
        if (u.room === s.current && u.unread > 0 && s.visible) this.markShown(u.room)
        return
      }
      case 'status':
        return this.set({ status: data as StatusView })
      case 'identity':
        return this.set({ me: data as IdentityView })
      case 'device-request':
        return this.set({ deviceRequest: data as DeviceRequestView | null })
      case 'devices':
        return
      case 'notice': {
        const n = data as Events['notice']
        return this.addNotice(n.room, n.level, n.text)
      }
      case 'social':
        return this.set({ social: data as SocialView })
      case 'governance': {
        const g = data as Events['governance']
        return this.addGovernance(g.room, g.event)
      }
      case 'member-line': {
        const v = data as Events['member-line']
        return this.addNotice(v.room, 'info', memberLine(v), null, 'member')
      }
    }
  }

  /** A mention or a DM from someone else, in a room not being read: the system's notification. */
  private notify(room: string, m: MessageView): void {
    const where = this.state.rooms.find((r) => r.id === room)
    const dm = where?.kind === 'dm'
    if (!(m.mention || dm) || m.self || m.deleted) return
    if (room === this.state.current && this.state.visible) return
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return
    const who = m.name || m.fingerprint
    const title = dm ? `${who} (direct message)` : where ? `${who} in ${this.label(where)}` : who
    try {
      const note = new Notification(title, { body: m.text.slice(0, 200), tag: m.id })
      note.onclick = () => {
        window.focus()
        this.select(room)
      }
    } catch {
      // A browser without page notifications: the title and the badges still show it.
    }
  }

  applyState(v: StateView): void {
    if (v.phase === 'chat' && v.chat) {
      const chat = v.chat
      const first = this.state.me === null
      this.set({
        phase: 'chat',
        setup: null,
        linking: null,
        error: null,
        me: chat.identity,
        account: chat.account,
        rooms: chat.rooms,
        status: chat.status,
        quickReactions: chat.quickReactions,
        maxBytes: chat.maxMessageBytes
      })
      const current = this.state.current
      if (first || !current || !this.currentRoom()) {
        // The room on screen survives a reload.
        const wanted = location.hash.slice(1)
        const room = chat.rooms.find((r) => r.id === wanted) ?? chat.rooms[0] ?? null
        this.select(room ? room.id : null)
      } else {
        void this.refresh()
      }
      void this.loadSocial()
      if (typeof Notification !== 'undefined' && Notification.permission === 'default') {
        Notification.requestPermission().catch(() => {})
      }
      return
    }
    this.set({ phase: v.phase, setup: v.setup, linking: v.linking, error: v.error })
    if (v.phase === 'closed') return this.link.end()
    if (this.state.me !== null) {
      // Back on the account screens (another account): nothing of the last one stays.
      this.set({
        me: null,
        account: null,
        rooms: [],
        current: null,
        messages: [],
        more: false,
        divider: null,
        notices: {},
        hidden: {},
        replyTo: null,
        editing: null,
        picker: null,
        members: null,
        profile: null,
        social: null,
        roomSettings: null
      })
      history.replaceState(null, '', location.search)
    }
  }

  // ---------------------------------------------------------------------------
  // Rooms and their messages
  // ---------------------------------------------------------------------------

  select(id: string | null): void {
    const room = this.state.rooms.find((r) => r.id === id)
    this.set({
      current: id,
      messages: [],
      more: false,
      divider: null,
      editing: null,
      picker: null,
      replyTo: null,
      members: null,
      profile: null,
      roomSettings: null
    })
    history.replaceState(null, '', location.search + (id ? '#' + id : ''))
    if (id) {
      void this.refresh(room?.unread ?? 0)
      this.markShown(id)
    }
  }

  removeRoom(id: string): void {
    const rooms = this.state.rooms.filter((r) => r.id !== id)
    this.set({ rooms })
    if (this.state.current === id) this.select(rooms[0]?.id ?? null)
  }

  /** The library keeps read positions: tell it the room is on screen. */
  markShown(id: string): void {
    // The room was just left, or the shell is gone: there is nothing to mark.
    this.link.request('read', { room: id }).catch(() => {})
  }

  /** Fetches the latest page of the room shown. Calls during one coalesce into one more. */
  async refresh(unread = 0): Promise<void> {
    const id = this.state.current
    if (!id) return
    if (this.refreshing) {
      this.again = true
      return
    }
    this.refreshing = true
    const during = new Map<string, MessageView | null>()
    this.during = during
    try {
      const page = await this.link.request('messages', { room: id, limit: PAGE })
      if (this.state.current === id) this.merge(page.messages, page.more, during, unread)
    } catch (err) {
      if (this.state.current === id) this.fail(err)
    } finally {
      this.refreshing = false
      this.during = null
      if (this.again) {
        this.again = false
        void this.refresh()
      }
    }
  }

  /**
   * The latest page replaces everything from its first message on; older pages stay. What
   * changed while it was on its way is newer than the page.
   */
  private merge(
    page: MessageView[],
    more: boolean,
    during: Map<string, MessageView | null>,
    unread: number
  ): void {
    const s = this.state
    const first = page[0]
    const kept = first ? s.messages.filter((m) => m.order < first.order) : []
    const ids = new Set(page.map((m) => m.id))
    const old = new Map(s.messages.map((m) => [m.id, m]))
    const fresh: MessageView[] = []
    for (const m of page) {
      const now = during.has(m.id) ? during.get(m.id)! : m
      if (now) fresh.push(sameMessage(old.get(now.id), now) ? old.get(now.id)! : now)
    }
    const arrived: MessageView[] = []
    for (const m of during.values()) {
      if (m && !ids.has(m.id) && (!first || m.order > first.order)) arrived.push(m)
    }
    const messages = [...kept, ...fresh, ...arrived].sort(byOrder)
    const patch: Partial<PageState> = { messages }
    if (kept.length === 0) patch.more = more
    if (unread > 0 && s.divider === null) patch.divider = firstUnread(messages, unread)
    this.set(patch)
  }

  async loadOlder(): Promise<void> {
    const s = this.state
    const id = s.current
    const first = s.messages[0]
    if (!id || !first || this.loadingOlder || !s.more || s.hidden[id]) return
    this.loadingOlder = true
    try {
      const page = await this.link.request('messages', { room: id, limit: PAGE, before: first.id })
      if (this.state.current !== id) return
      this.set({ messages: [...page.messages, ...this.state.messages], more: page.more })
    } catch (err) {
      this.fail(err)
    } finally {
      this.loadingOlder = false
    }
  }

  /** A new message goes where its order key puts it: nearly always at the end. */
  private insertMessage(m: MessageView): void {
    this.during?.set(m.id, m)
    const list = this.state.messages
    if (list.some((x) => x.id === m.id)) return this.updateMessage(m)
    const last = list[list.length - 1]
    if (!last || last.order < m.order) return this.set({ messages: [...list, m] })
    // Older than all that is loaded: it comes with the page before, or paging would skip some.
    if (this.state.more && m.order < list[0]!.order) return
    this.set({ messages: [...list, m].sort(byOrder) })
  }

  /** A changed message replaces its old state alone. */
  private updateMessage(m: MessageView): void {
    this.during?.set(m.id, m)
    const s = this.state
    if (!s.messages.some((x) => x.id === m.id)) return
    const patch: Partial<PageState> = { messages: s.messages.map((x) => (x.id === m.id ? m : x)) }
    if (s.replyTo?.id === m.id) patch.replyTo = m.deleted ? null : m
    if (m.deleted && s.editing === m.id) patch.editing = null
    this.set(patch)
  }

  private removeMessage(id: string): void {
    this.during?.set(id, null)
    const s = this.state
    this.set({
      messages: s.messages.filter((m) => m.id !== id),
      replyTo: s.replyTo?.id === id ? null : s.replyTo,
      editing: s.editing === id ? null : s.editing
    })
  }

  findMessage(id: string): MessageView | null {
    return this.state.messages.find((m) => m.id === id) ?? null
  }

  // ---------------------------------------------------------------------------
  // Notices, and what a line from the composer did
  // ---------------------------------------------------------------------------

  addNotice(
    room: string,
    level: 'info' | 'error',
    text: string,
    table: NoticeLine['table'] = null,
    kind: NoticeLine['kind'] = 'text'
  ): void {
    const list = [...(this.state.notices[room] ?? [])]
    list.push({ key: this.nextNotice++, level, text, table, time: Date.now(), kind })
    this.set({ notices: { ...this.state.notices, [room]: list.slice(-MAX_NOTICES) } })
  }

  /** A failure as a sentence in the room shown. */
  fail(err: unknown): void {
    this.addNotice(this.state.current ?? '', 'error', sentence(err))
  }

  applyLine(room: string | null, result: LineResult): void {
    if (result.clear && room) {
      const hidden = new Set(this.state.messages.map((m) => m.id))
      const notices = { ...this.state.notices }
      delete notices[room]
      this.set({ hidden: { ...this.state.hidden, [room]: hidden }, notices })
    }
    let shown = room
    if (result.room && result.room !== room) {
      if (!this.state.rooms.some((r) => r.id === result.room)) {
        // Its room-add event may still be on its way: take the whole state.
        this.link.request('state').then((v) => this.applyState(v), (e) => this.fail(e))
      }
      shown = result.room
    }
    if (result.left && result.left === this.state.current) this.removeRoom(result.left)
    if (shown !== this.state.current && shown !== result.left) this.select(shown)
    const here = this.state.current ?? ''
    let notices = result.notices
    if (result.help) {
      // The command table, laid out here; the notices repeat it as text lines.
      this.addNotice(here, 'info', '', result.help)
      notices = notices.slice(result.help.length)
    }
    for (const n of notices) this.addNotice(here, n.level, n.level === 'error' ? sentence(n.text) : n.text)
    if (result.quit) {
      this.link.end()
      this.set({ phase: 'closed' })
    }
  }

  /** A governance operation, worded as one line of its room's timeline. */
  addGovernance(room: string, event: GovernanceView): void {
    this.addNotice(room, 'info', governanceLine(event))
    // An open settings panel shows what is now in force.
    if (this.state.roomSettings?.room === room) void this.openRoomSettings()
    // So does an open profile card: a role changed, theirs or this identity's, and with it the
    // moderation it offers.
    if (this.state.profile && room === this.state.current) void this.refreshProfile()
  }

  async loadSocial(): Promise<void> {
    try {
      this.set({ social: await this.link.request('social') })
    } catch (err) {
      this.fail(err)
    }
  }

  /** Opens the profile card of an identity; in the room shown, with its role there. */
  /** The open profile card again, unless it was closed or another opened meanwhile. */
  private async refreshProfile(): Promise<void> {
    const card = this.state.profile
    const room = this.state.current
    if (!card) return
    try {
      const member = await this.link.request('member', { room, key: card.key, name: card.name })
      if (this.state.current === room && this.state.profile?.key === card.key) this.set({ profile: member })
    } catch {
      // Left or closed meanwhile: the card stays as it was.
    }
  }

  async openProfile(key: string, name = ''): Promise<void> {
    const room = this.state.current
    try {
      const member = await this.link.request('member', { room, key, name })
      if (this.state.current === room) this.set({ profile: member })
    } catch (err) {
      this.fail(err)
    }
  }

  /** Opens (or refreshes) the settings panel of the room shown. */
  async openRoomSettings(): Promise<void> {
    const id = this.state.current
    if (!id) return
    try {
      const view = await this.link.request('room-settings', { room: id })
      if (this.state.current === id) this.set({ roomSettings: view })
    } catch (err) {
      this.fail(err)
    }
  }

  /** The staff mark of an identity in the room shown: `~` owner, `&` admin, `@` op. */
  mark(key: string): string {
    return roleMark(this.currentRoom()?.staff.find((x) => x.key === key)?.role ?? 'member')
  }

  /** Opens the member panel of the room shown, or refreshes it. */
  async loadMembers(): Promise<void> {
    const id = this.state.current
    if (!id) return
    try {
      const members = await this.link.request('members', { room: id })
      if (this.state.current === id) this.set({ members })
    } catch (err) {
      this.fail(err)
    }
  }
}

function byOrder(a: MessageView, b: MessageView): number {
  return a.order < b.order ? -1 : a.order > b.order ? 1 : 0
}

/** The same view as before, by value: keeps the old object so its line is not redrawn. */
function sameMessage(a: MessageView | undefined, b: MessageView): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b)
}

/** The id of the oldest of the last `unread` messages from others. */
function firstUnread(messages: MessageView[], unread: number): string | null {
  let left = unread
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!
    if (m.self) continue
    if (--left === 0) return m.id
  }
  return messages.find((m) => !m.self)?.id ?? null
}
