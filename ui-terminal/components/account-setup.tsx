import { Box, Text, useInput } from 'ink'
import { SETUP_CHOICES, sentence, type AccountSetup as Setup } from '../use-account-setup.js'
import { InputLine } from './input-line.js'

export interface AccountSetupProps {
  setup: Setup
  account: string
  storage: string | null
  width: number
  /** The terminal's rows: a short one gets the compact phrase screen. Default 24. */
  height?: number
}

/** The first start: the account selector, a new account's phrase and password, or unlocking. */
export function AccountSetup({ setup, account, storage, width, height = 24 }: AccountSetupProps) {
  const { state } = setup
  const step = state.step
  const wrap = Math.max(20, width - 1)

  useInput(
    (input, key) => {
      switch (step.name) {
        case 'choose': {
          if (key.upArrow || (key.ctrl && input === 'p')) return setup.move(-1)
          if (key.downArrow || (key.ctrl && input === 'n')) return setup.move(1)
          const digit = Number(input)
          const picked = key.return ? SETUP_CHOICES[step.selected] : SETUP_CHOICES[digit - 1]
          if (picked && (key.return || /^[1-9]$/.test(input))) setup.choose(picked.key)
          return
        }
        case 'show-phrase':
          if (key.return) return setup.phraseSeen()
          if (key.escape) return setup.back()
          return
        case 'no-password':
          if (input === 'y' || input === 'Y') return setup.noPassword(true)
          if (input === 'n' || input === 'N' || key.return || key.escape) {
            return setup.noPassword(false)
          }
          return
        case 'failed':
          if (key.return) setup.retry()
          return
        default:
          if (key.escape) setup.back()
      }
    },
    {
      isActive:
        step.name !== 'checking' && step.name !== 'opening' && step.name !== 'open' && step.name !== 'fatal'
    }
  )

  return (
    <Box flexDirection="column" width={wrap}>
      <Text>
        <Text bold color="green">
          Backspace
        </Text>
        <Text dimColor> private peer-to-peer chat</Text>
      </Text>
      <Text> </Text>
      {body()}
      {state.error ? (
        <Box marginTop={1}>
          <Text color="red">{state.error}</Text>
        </Box>
      ) : null}
    </Box>
  )

  function body() {
    switch (step.name) {
      case 'checking':
        return <Text dimColor>Reading {storage ?? 'the storage'}...</Text>
      case 'opening':
        return <Text color="yellow">{step.what}...</Text>
      case 'open':
        return null
      case 'failed':
        return <Text dimColor>Enter tries again. Ctrl+C quits.</Text>
      case 'fatal':
        return <Text color="red">{sentence(step.reason)}</Text>
      case 'choose':
        return (
          <Box flexDirection="column">
            <Text>
              No account "{account}" in {storage} yet. How do you want to start?
            </Text>
            <Text> </Text>
            {SETUP_CHOICES.map((c, i) => (
              <Text key={c.key} inverse={i === step.selected}>
                {i === step.selected ? ' > ' : '   '}
                {i + 1} {c.label}
              </Text>
            ))}
            <Text> </Text>
            <Text dimColor>
              Up/Down and Enter, or press 1-{SETUP_CHOICES.length}. Ctrl+C quits.
            </Text>
            {setup.others.length > 0 ? (
              <Text dimColor>
                Other accounts here: {setup.others.join(', ')}. Start with --account NAME to use
                one.
              </Text>
            ) : null}
          </Box>
        )
      case 'show-phrase': {
        const { words, fingerprint } = step.phrase
        // As many columns as fit (at most 4): `24. abstract`, 12 cells each; 24 words in
        // 6 rows at 60 columns, so the whole phrase fits a 60x14 terminal.
        const cell = 13
        const perRow = Math.max(1, Math.min(4, Math.floor((wrap + 1) / cell)))
        const rows: string[] = []
        for (let i = 0; i < words.length; i += perRow) {
          rows.push(
            words
              .slice(i, i + perRow)
              .map((w, k) => `${String(i + k + 1).padStart(2)}. ${w.padEnd(cell - 5)}`)
              .join(' ')
              .trimEnd()
          )
        }
        const roomy = height >= rows.length + 9
        return (
          <Box flexDirection="column">
            {roomy ? (
              <Text>
                Your recovery phrase. Write it down and keep it safe: it is the only way to get
                this account back, and anyone who has it can use the account. It is shown only
                this once.
              </Text>
            ) : (
              <Text>Your recovery phrase: write it down, keep it secret. Shown only once.</Text>
            )}
            {roomy ? <Text> </Text> : null}
            {rows.map((row, r) => (
              <Text key={r}>{row}</Text>
            ))}
            {roomy ? <Text> </Text> : null}
            <Text dimColor>fingerprint {fingerprint}</Text>
            <Text>Enter once it is written down. Esc goes back.</Text>
          </Box>
        )
      }
      case 'confirm-phrase': {
        const at = step.phrase.next ?? 0
        return (
          <Box flexDirection="column">
            <Text>
              Confirm your recovery phrase: type word {at} ({step.done + 1} of{' '}
              {step.phrase.positions.length}). Esc shows the phrase again.
            </Text>
            <InputLine
              key={`word-${at}`}
              prompt={`Word ${at}: `}
              width={wrap}
              remember={false}
              onSubmit={setup.confirmWord}
            />
          </Box>
        )
      }
      case 'restore':
        return (
          <Box flexDirection="column">
            <Text>
              Type the 24 words of the recovery phrase, separated by spaces. Esc goes back.
            </Text>
            <InputLine prompt="Phrase: " width={wrap} remember={false} onSubmit={setup.restore} />
          </Box>
        )
      case 'import-key':
        return (
          <Box flexDirection="column">
            <Text>
              Paste the secret key: 64 hex digits (the seed) or 128 (the full secret key). Esc goes
              back.
            </Text>
            <InputLine prompt="Secret key: " width={wrap} masked onSubmit={setup.importKey} />
          </Box>
        )
      case 'link':
        return (
          <Box flexDirection="column">
            <Text>
              On a device that already has your account, run /device link (or backspace device
              link) and paste the link it shows. That device approves this one; your recovery
              phrase stays there. Esc goes back.
            </Text>
            <InputLine prompt="Link: " width={wrap} remember={false} onSubmit={setup.link} />
          </Box>
        )
      case 'linking':
        return (
          <Box flexDirection="column">
            <Text>Waiting for your other device to approve this one.</Text>
            <Text> </Text>
            <Text>
              This device's fingerprint:{' '}
              <Text bold color="yellow">
                {step.fingerprint}
              </Text>
            </Text>
            <Text> </Text>
            <Text>
              Approve only if the other device shows this same fingerprint. The link works until{' '}
              {new Date(step.expiresAt).toTimeString().slice(0, 5)}.
            </Text>
            <Text dimColor>Esc cancels. Ctrl+C quits.</Text>
          </Box>
        )
      case 'password':
        return (
          <Box flexDirection="column">
            <Text>
              Choose a password for account "{account}". It encrypts the {step.source.kind === 'link' ? "device's keys" : 'secret key'}{' '}
              on this device. Press Enter without typing to go without one.
            </Text>
            <InputLine
              key={step.first === null ? 'first' : 'again'}
              prompt={step.first === null ? 'Password: ' : 'Type it again: '}
              width={wrap}
              masked
              submitEmpty
              onSubmit={setup.password}
            />
          </Box>
        )
      case 'no-password':
        return (
          <Text>
            Go without a password? The secret key is then stored unencrypted, protected only by file
            permissions (0600). [y/N]
          </Text>
        )
      case 'unlock':
        return (
          <Box flexDirection="column">
            <Text>Account "{account}" is encrypted with a password.</Text>
            <InputLine
              prompt="Password: "
              width={wrap}
              masked
              submitEmpty
              onSubmit={setup.unlock}
            />
          </Box>
        )
    }
  }
}
