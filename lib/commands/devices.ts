import { clock, describeDevice, plural } from './labels.js'
import { usageText } from './parse.js'
import { defineCommand } from './types.js'

declare module './types.js' {
  interface CommandMap {
    device: { action: 'link' | 'list' | 'approve' | 'deny' } | { action: 'revoke'; key: string }
  }
}

const ACTIONS = ['link', 'list', 'approve', 'deny'] as const

export const device = defineCommand({
  name: 'device',
  aliases: ['devices'],
  usage: '/device link|list|revoke',
  description: 'your devices: link a new one, list them, revoke one (<key>); approve or deny a request',
  args: [
    { name: 'action', kind: 'word', optional: true },
    { name: 'key', kind: 'word', optional: true }
  ],
  build(values, spec) {
    const action = typeof values.action === 'string' ? values.action.toLowerCase() : 'list'
    const key = values.key
    if (action === 'revoke') return typeof key === 'string' ? { action, key } : 'Usage: /device revoke <key or fingerprint>'
    const known = ACTIONS.find((a) => a === action)
    if (known === undefined) return usageText(spec)
    return key === undefined ? { action: known } : `/device ${known} takes no arguments`
  },
  async run({ node, info, error }, command) {
    switch (command.action) {
      case 'link': {
        const invite = await node.devices.invite()
        info(`Device link (works once, until ${clock(invite.expiresAt)}): ${invite.link}`)
        info('On the new device: backspace --link <link>, or "Link to an existing device" when it starts.')
        info('It then asks here to join: compare its fingerprint with the one it shows, and /device approve or /device deny.')
        return { deviceInvite: invite }
      }
      case 'list': {
        const devices = await node.devices.list()
        info(`${plural(devices.length, 'device')} of this identity:`)
        for (const d of devices) info(describeDevice(d))
        return { devices }
      }
      case 'revoke': {
        await node.devices.revoke(command.key)
        if (node.device.revoked) info('This device is logged out of the identity: it no longer speaks for it.')
        else info(`Revoked ${command.key}. Every room tells its members; what that device writes from now on is refused.`)
        return
      }
      case 'approve':
      case 'deny': {
        const request = node.devices.pending
        if (!request) {
          error('No device is waiting for an answer. /device link makes a link for one.')
          return
        }
        const who = `${request.fingerprint}${request.name ? ` "${request.name}"` : ''}`
        if (command.action === 'deny') {
          await request.deny()
          info(`Denied device ${who}.`)
        } else {
          await request.approve()
          info(`Linked device ${who}: it now speaks for your identity. /device revoke ${request.fingerprint} undoes it.`)
        }
      }
    }
  }
})
