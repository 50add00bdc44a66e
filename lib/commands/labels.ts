import type { DeviceInfo, Member, RoomKindName } from '../types.js'

/** What `roomLabel` needs of a room: the library's `Room`, or a UI's view of one. */
export interface RoomLabelInput {
  readonly name: string
  readonly kind: RoomKindName
  /** `room.id`; needed to tell same-named rooms apart. */
  readonly id?: string
}

/**
 * `#name` for a named room, `~label` for a private one, `@name` for a DM. When another room of `among` shows
 * the same, the room's short tag follows (`#secret·1a2b`): a wrong password makes a room of
 * the same name, and two identical entries cannot be told apart.
 */
export function roomLabel(room: RoomLabelInput, among: readonly RoomLabelInput[] = []): string {
  const base = (room.kind === 'named' ? '#' : room.kind === 'dm' ? '@' : '~') + room.name
  if (room.id === undefined) return base
  const twin = among.some((r) => r.id !== room.id && r.kind === room.kind && r.name === room.name)
  return twin ? `${base}·${roomTag(room.id)}` : base
}

/** A short fingerprint of a room's id, to tell apart rooms that share a name. */
export function roomTag(id: string): string {
  return id.slice(0, 4)
}

/** The notice for a password room in which nobody else has been seen (the `alone` event). */
export function aloneNotice(room: RoomLabelInput): string {
  return (
    `Nobody else has been seen in ${roomLabel(room)} yet. The password is part of the room: ` +
    'another password makes another, empty room with the same name. Check it with whoever invited you.'
  )
}

/** One device in a list: fingerprint, name, kind, date and flags. */
export function describeDevice(d: DeviceInfo): string {
  const parts = [d.fingerprint, d.name ? `"${d.name}"` : '(no name)', d.primary ? 'primary' : 'linked']
  parts.push(`since ${new Date(d.createdAt).toISOString().slice(0, 10)}`)
  if (d.current) parts.push('(this device)')
  if (d.revoked) parts.push('REVOKED')
  return parts.join('  ')
}

/** One member as `/peers` describes it. */
export function describeMember(m: Member): string {
  const parts = [`${m.name || '(no name)'} ${m.fingerprint}`]
  if (m.self) parts.push('(you)')
  parts.push(m.online ? (m.away !== null ? 'away' : 'online') : 'offline')
  if (m.away) parts.push(`"${m.away}"`)
  if (m.status) parts.push(`- ${m.status}`)
  return parts.join('  ')
}

/** You first, then online members, then by name and fingerprint. */
export function sortMembers(members: Member[]): Member[] {
  return members.sort(
    (a, b) =>
      Number(b.self) - Number(a.self) ||
      Number(b.online) - Number(a.online) ||
      (a.name || '\uffff').localeCompare(b.name || '\uffff') ||
      a.fingerprint.localeCompare(b.fingerprint)
  )
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

export function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 5)
}
