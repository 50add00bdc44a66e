// The desktop page: one self-contained document, no build step and no external resources.
// It only shows what the shell sends; the script (page-script.ts) sets all text with
// textContent or text nodes, never as HTML.
import { SCRIPT } from './page-script.js'
import { STYLE } from './page-style.js'

/** The page, with `nonce` on its inline style and script (the server's CSP allows only those). */
export function renderPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>Backspace</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<div id="setup" class="setup" hidden>
  <div class="card">
    <section id="step-welcome" data-step hidden>
      <h1>Backspace</h1>
      <p class="muted">Private peer-to-peer chat. Your identity is a key pair made on this
        device: no server, no phone number. Messages expire after 7 days.</p>
      <div id="open-accounts" hidden>
        <label>Open an account</label>
        <div id="account-list" class="accounts"></div>
      </div>
      <div class="choices">
        <button id="choose-new" type="button" class="primary">Create a new account
          <small>Shows 24 recovery words to write down</small></button>
        <button id="choose-restore" type="button">Restore from 24 words
          <small>The recovery phrase of an identity you have</small></button>
        <button id="choose-import" type="button">Import a secret key
          <small>A hex seed or Ed25519 secret key</small></button>
        <button id="choose-incognito" type="button">Go incognito
          <small>An ephemeral Anon identity; nothing is written to disk</small></button>
        <button id="choose-link" type="button">Link to an existing device
          <small>Approve this one on a device that has your account; no words needed</small></button>
      </div>
      <p id="welcome-error" class="error" role="alert" hidden></p>
    </section>

    <section id="step-words" data-step hidden>
      <h2>Your recovery words</h2>
      <p>Write these 24 words down, in order, and keep them somewhere safe. They are the only
        way to restore this account. Nobody else should ever see them.</p>
      <ol id="words" class="words" aria-label="Recovery words"></ol>
      <p class="muted">Fingerprint <span id="words-fingerprint" class="mono"></span></p>
      <div class="actions">
        <button type="button" data-back>Back</button>
        <button id="words-done" type="button" class="primary">I wrote them down</button>
      </div>
    </section>

    <form id="step-confirm" data-step hidden autocomplete="off">
      <h2>Confirm your words</h2>
      <p>Type these words from your copy, to be sure it is right.</p>
      <div id="confirm-fields"></div>
      <p id="confirm-error" class="error" role="alert" hidden></p>
      <div class="actions">
        <button type="button" data-back="words">Show the words again</button>
        <button class="primary">Continue</button>
      </div>
    </form>

    <form id="step-restore" data-step hidden autocomplete="off">
      <h2>Restore from 24 words</h2>
      <label for="restore-phrase">Recovery phrase</label>
      <textarea id="restore-phrase" rows="4" spellcheck="false" autocapitalize="off"
        required></textarea>
      <p id="restore-error" class="error" role="alert" hidden></p>
      <div class="actions">
        <button type="button" data-back>Back</button>
        <button class="primary">Continue</button>
      </div>
    </form>

    <form id="step-import" data-step hidden autocomplete="off">
      <h2>Import a secret key</h2>
      <label for="import-key">Secret key (hex)</label>
      <input id="import-key" class="mono" spellcheck="false" autocapitalize="off" required>
      <p id="import-error" class="error" role="alert" hidden></p>
      <div class="actions">
        <button type="button" data-back>Back</button>
        <button class="primary">Continue</button>
      </div>
    </form>

    <form id="step-link" data-step hidden autocomplete="off">
      <h2>Link to an existing device</h2>
      <p>On a device that already has your account, run <span class="mono">/device link</span>
        (or <span class="mono">backspace device link</span>) and paste the link it shows here.
        That device approves this one; your recovery words stay there.</p>
      <label for="link-text">Device link</label>
      <textarea id="link-text" class="mono" rows="3" spellcheck="false" autocapitalize="off"
        required></textarea>
      <p id="link-error" class="error" role="alert" hidden></p>
      <div class="actions">
        <button type="button" data-back>Back</button>
        <button class="primary">Continue</button>
      </div>
    </form>

    <form id="step-password" data-step hidden autocomplete="off">
      <h2>Protect your account</h2>
      <p id="password-identity" class="muted"></p>
      <label for="account-name">Account name</label>
      <input id="account-name" spellcheck="false" autocapitalize="off" required>
      <div id="password-given" hidden>
        <p>The password given with <span class="mono">--password</span> will encrypt it.</p>
      </div>
      <fieldset id="password-choice" class="plain">
        <legend class="muted">The secret key is stored on this device.</legend>
        <label class="radio"><input type="radio" name="protect" value="password" checked>
          <span>Encrypt it with a password (asked each time you open Backspace)</span></label>
        <div id="password-fields">
          <label for="password">Password</label>
          <input id="password" type="password" autocomplete="new-password">
          <label for="password-repeat">Repeat the password</label>
          <input id="password-repeat" type="password" autocomplete="new-password">
        </div>
        <label class="radio"><input type="radio" name="protect" value="none">
          <span>No password: anyone who can read this computer's files can use the
            account</span></label>
      </fieldset>
      <p id="password-error" class="error" role="alert" hidden></p>
      <div class="actions">
        <button type="button" data-back>Back</button>
        <button id="create-account" class="primary">Create account</button>
      </div>
    </form>

    <form id="step-unlock" data-step hidden autocomplete="off">
      <h2>Unlock <span id="unlock-account"></span></h2>
      <label for="unlock-password">Password</label>
      <input id="unlock-password" type="password" autocomplete="current-password" required>
      <p id="unlock-error" class="error" role="alert" hidden></p>
      <div class="actions">
        <button type="button" data-back>Another account</button>
        <button class="primary">Unlock</button>
      </div>
    </form>

    <section id="step-opening" data-step hidden class="opening" role="status">
      <h2 id="opening-title">Opening</h2>
      <p id="opening-text" class="muted">Unlocking the key and opening your rooms.</p>
      <div id="opening-linking" hidden>
        <p>This device's fingerprint</p>
        <p id="linking-fingerprint" class="mono fingerprint"></p>
        <p class="muted">Approve it on your other device only if it shows this same
          fingerprint. The link works until <span id="linking-expires"></span>.</p>
        <div class="actions">
          <button id="linking-cancel" type="button">Cancel</button>
        </div>
      </div>
    </section>
  </div>
</div>

<div id="chat" class="chat" hidden>
  <aside id="sidebar" class="sidebar">
    <header class="brand">
      <h1>Backspace</h1>
      <div id="me" class="me muted"></div>
    </header>
    <nav id="rooms" aria-label="Rooms"></nav>
    <form id="join-form" class="panel" autocomplete="off">
      <h2>Join a room</h2>
      <input id="join-name" placeholder="Room name or invite" aria-label="Room name or invite"
        required>
      <input id="join-password" type="password" placeholder="Password (optional)"
        autocomplete="off" aria-label="Room password">
      <button class="primary">Join</button>
      <p id="join-error" class="error" role="alert" hidden></p>
    </form>
    <form id="create-form" class="panel" autocomplete="off">
      <h2>New private room</h2>
      <input id="create-name" placeholder="Label (only invitees see it)"
        aria-label="Private room label">
      <button>Create</button>
      <p id="create-error" class="error" role="alert" hidden></p>
    </form>
  </aside>
  <main>
    <header class="room-header">
      <button id="drawer-toggle" class="drawer-toggle" type="button" aria-controls="sidebar"
        aria-expanded="false">Rooms</button>
      <h2 id="room-title">No room open</h2>
      <span id="room-peers" class="muted"></span>
      <button id="leave" type="button" hidden>Leave</button>
    </header>
    <div id="invite" class="invite" hidden>
      <span class="muted">Invite</span>
      <input id="invite-text" class="mono" readonly aria-label="Invite link">
      <button id="invite-copy" type="button">Copy</button>
    </div>
    <div id="messages" class="messages" role="log" aria-label="Messages" tabindex="0"></div>
    <p id="completions" class="completions muted mono" aria-live="polite" hidden></p>
    <div id="reply-bar" class="reply-bar" hidden>
      <span class="muted">Replying to</span> <strong id="reply-who"></strong>
      <span id="reply-text" class="reply-text muted"></span>
      <button id="reply-cancel" type="button" class="link" aria-label="Cancel the reply">Cancel</button>
    </div>
    <form id="composer" class="composer">
      <textarea id="text" rows="1" aria-label="Message" aria-describedby="composer-hint"
        placeholder="Message, or /help"></textarea>
      <span id="composer-hint" hidden>Enter sends, Shift+Enter adds a line, Tab completes</span>
      <span id="count" class="count mono" aria-live="polite" hidden></span>
      <button id="send" class="primary">Send</button>
    </form>
  </main>
  <footer id="statusbar" class="statusbar" role="status">
    <span id="link-state" class="state">Connecting</span>
    <span id="peer-count"></span>
    <span id="room-count"></span>
    <span id="whoami" class="right mono"></span>
  </footer>
</div>

<dialog id="device-dialog" aria-labelledby="device-dialog-title">
  <form method="dialog">
    <h2 id="device-dialog-title">A new device asks to join</h2>
    <p>It wants to speak for your identity. Approve only if it shows this fingerprint:</p>
    <p id="device-dialog-fingerprint" class="mono fingerprint"></p>
    <p id="device-dialog-name" class="muted"></p>
    <p id="device-dialog-error" class="error" role="alert" hidden></p>
    <div class="actions">
      <button id="device-deny" type="button">Deny</button>
      <button id="device-approve" type="button" class="primary">Approve</button>
    </div>
  </form>
</dialog>

<div id="closed" class="closed" hidden>
  <h1>Backspace was closed</h1>
  <p class="muted">Start <span class="mono">backspace desktop</span> again to chat.</p>
</div>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`
}
