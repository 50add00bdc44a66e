import type { ErrorCode } from '../errors.js'
import type { CommandInfo, RoomLabelInput } from '../commands.js'
import type { GovernanceActionName, RoomSettings } from '../governance/types.js'

/** Someone a notice is about: a name is not unique, so the fingerprint goes with it. */
export interface NoticePerson {
  /** Their display name in the room (cleaned by the library), or '' when none is known. */
  readonly name: string
  readonly fingerprint: string
  /** This identity. */
  readonly self: boolean
}

/**
 * What a chat notice says, as data: each UI words and lays it out itself, and never parses
 * it back. `text` notices are the sentences commands return; the others are events.
 */
export type NoticeBody =
  /** A sentence from a command, or an error the library reported (with its code). */
  | { readonly kind: 'text'; readonly level: 'info' | 'error'; readonly text: string; readonly code?: ErrorCode }
  /** `/help`: the commands, to lay out as a table. */
  | { readonly kind: 'help'; readonly commands: readonly CommandInfo[] }
  /** A password room in which nobody else has been seen: another password is another room. */
  | { readonly kind: 'alone'; readonly about: RoomLabelInput }
  /** A member came online in the room, or went offline. */
  | { readonly kind: 'member-join' | 'member-leave'; readonly name: string; readonly fingerprint: string }
  /** A member changed their display name. */
  | { readonly kind: 'member-rename'; readonly from: string; readonly to: string; readonly fingerprint: string }
  /** A new device asks to join this identity: compare the fingerprints, then approve or deny. */
  | { readonly kind: 'device-request'; readonly fingerprint: string; readonly name: string }
  /** Someone asks to be a friend: only their short message is shown until it is accepted. */
  | { readonly kind: 'friend-request'; readonly fingerprint: string; readonly name: string; readonly text: string }
  /** This device was revoked: it no longer speaks for the identity. */
  | { readonly kind: 'device-revoked' }
  /** `/leave` deletes the room's local history: typing it again confirms. */
  | { readonly kind: 'confirm-leave'; readonly about: RoomLabelInput }
  /** No room joined yet: how to join one. */
  | { readonly kind: 'welcome' }
  /**
   * The DHT bootstrap could not be reached (`reachable` false): nobody can be found until it
   * can. `reachable` true when it comes back.
   */
  | { readonly kind: 'network'; readonly reachable: boolean }
  /**
   * A governance operation took effect in the room (every member sees it): `actor` did
   * `action` to `target`. `text` is the topic, announcement or welcome set (or a kick or ban
   * reason); for `set`, `setting` names the setting and `value` is its new value. Owner claims
   * are not told: the owner's mark shows them. Only live operations are told: those replayed
   * from history are folded into the room's view (see `ChatModel`).
   */
  | {
      readonly kind: 'governance'
      readonly action: Exclude<GovernanceActionName, 'claim'>
      readonly actor: NoticePerson
      readonly target: NoticePerson | null
      readonly text: string
      readonly setting: keyof RoomSettings | null
      readonly value: RoomSettings[keyof RoomSettings] | null
    }
  /** The room's welcome message, shown once to a member who just joined it. */
  | { readonly kind: 'room-welcome'; readonly about: RoomLabelInput; readonly text: string }

/** One notice, with where and when it belongs. */
export type ChatNotice = NoticeBody & {
  readonly id: number
  readonly time: number
  /**
   * The room it is shown in: the one it is about, else the one shown when it came. Null only
   * while no room is shown: such a notice stays on that empty screen.
   */
  readonly room: string | null
}

/** `error` for errors, else `info`: for UIs that colour notices by level. */
export function noticeLevel(n: NoticeBody): 'info' | 'error' {
  if (n.kind === 'text') return n.level
  if (n.kind === 'device-revoked' || (n.kind === 'network' && !n.reachable)) return 'error'
  return 'info'
}
