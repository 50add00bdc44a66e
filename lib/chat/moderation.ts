import { RANK } from '../governance/resolve.js'
import type { Role } from '../governance/types.js'

/** A moderation action on one member, as a profile card or a member menu offers it. */
export type MemberAction = 'kick' | 'ban' | 'unban' | 'op' | 'deop' | 'admin' | 'unadmin'

export const MEMBER_ACTIONS: readonly MemberAction[] = ['kick', 'ban', 'unban', 'op', 'deop', 'admin', 'unadmin']

/**
 * What an identity whose role is `mine` may do to a member whose role is `theirs`, by the
 * governance rules (`room.moderate` checks them again): act only on a role strictly below its
 * own, grant only below it (op and deop need an admin, admin and unadmin the owner); a banned
 * member can only be unbanned. For a UI that offers these as buttons, so it shows only what
 * would not be refused.
 */
export function memberActions(mine: Role, theirs: Role): MemberAction[] {
  const rank = RANK[mine]
  if (rank < RANK.op) return []
  if (theirs === 'banned') return ['unban']
  if (RANK[theirs] >= rank) return []
  const actions: MemberAction[] = ['kick', 'ban']
  if (rank >= RANK.admin && theirs === 'member') actions.push('op')
  if (rank >= RANK.admin && theirs === 'op') actions.push('deop')
  if (mine === 'owner' && theirs !== 'admin') actions.push('admin')
  if (mine === 'owner' && theirs === 'admin') actions.push('unadmin')
  return actions
}

const VERBS: Record<MemberAction, string> = {
  kick: 'kick',
  ban: 'ban',
  unban: 'unban',
  op: 'make an op',
  deop: 'take op status from',
  admin: 'make an admin',
  unadmin: 'take admin status from'
}

const NEEDS: Record<MemberAction, string> = {
  kick: 'an op, an admin or the owner',
  ban: 'an op, an admin or the owner',
  unban: 'an op, an admin or the owner',
  op: 'an admin or the owner',
  deop: 'an admin or the owner',
  admin: 'the owner',
  unadmin: 'the owner'
}

const ROLE_NOUNS: Record<Role, string> = { owner: 'the owner', admin: 'an admin', op: 'an op', member: 'a member', banned: 'banned' }
const article = (role: Role) => ROLE_NOUNS[role]

/**
 * Why `memberActions` leaves `action` out, as one sentence: `who` names the member (name and
 * fingerprint). For the NOT_ALLOWED a UI shows instead of the library's terse detail.
 */
export function memberActionRefusal(action: MemberAction, who: string, mine: Role, theirs: Role): string {
  const verb = VERBS[action]
  if (RANK[mine] < RANK.op || (RANK[mine] < RANK.admin && action !== 'kick' && action !== 'ban' && action !== 'unban')) {
    return `Only ${NEEDS[action]} may ${verb} ${who}; you are ${article(mine)} here.`
  }
  if (mine !== 'owner' && (action === 'admin' || action === 'unadmin')) {
    return `Only the owner may ${verb} ${who}; you are ${article(mine)} here.`
  }
  if (action === 'unban' && theirs !== 'banned') return `${who} is not banned.`
  if (theirs === 'banned') return `${who} is banned: unban them first.`
  if (RANK[theirs] >= RANK[mine]) return `You cannot ${verb} ${who}: their role (${theirs}) is not below yours (${mine}).`
  if (action === 'op' && theirs !== 'member') return `${who} is already ${article(theirs)}.`
  if (action === 'deop' && theirs !== 'op') return `${who} is not an op.`
  if (action === 'admin' && theirs === 'admin') return `${who} is already an admin.`
  if (action === 'unadmin' && theirs !== 'admin') return `${who} is not an admin.`
  return `You may not ${verb} ${who} here.`
}
