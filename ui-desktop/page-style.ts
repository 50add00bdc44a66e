// The page's stylesheet: light and dark from prefers-color-scheme, a visible focus ring on
// everything focusable, and one column below 640px with the rooms in a drawer.
export const STYLE = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --side: #eceef2; --panel: #ffffff; --fg: #1d2026; --muted: #555c68;
  --line: #767d8a; --soft-line: #c9ced6; --accent: #2f5bbf; --accent-fg: #ffffff; --mine: #eaf0fd;
  --mention: #fff4d6; --mention-line: #b88a00; --error: #b42318; --ok: #2f9e44;
  --focus: #1d4ed8; --link: #1f4fb0;
  font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
}
:root[data-theme=light] { color-scheme: light; }
@media (prefers-color-scheme: dark) {
  :root:not([data-theme=light]) {
    --bg: #15171c; --side: #1c1f26; --panel: #22252d; --fg: #e6e8ec; --muted: #a3aab6;
    --line: #7a8291; --soft-line: #3a404c; --accent: #7aa2f7; --accent-fg: #0d1117; --mine: #1e2940;
    --mention: #3a3220; --mention-line: #e0b341; --error: #ff8a80; --ok: #69db7c;
    --focus: #9ab8ff; --link: #9ab8ff;
  }
}
:root[data-theme=dark] {
  color-scheme: dark;
  --bg: #15171c; --side: #1c1f26; --panel: #22252d; --fg: #e6e8ec; --muted: #a3aab6;
  --line: #7a8291; --soft-line: #3a404c; --accent: #7aa2f7; --accent-fg: #0d1117; --mine: #1e2940;
  --mention: #3a3220; --mention-line: #e0b341; --error: #ff8a80; --ok: #69db7c;
  --focus: #9ab8ff; --link: #9ab8ff;
}
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { background: var(--bg); color: var(--fg); }
[hidden] { display: none !important; }
button, input, textarea { font: inherit; color: inherit; }
button {
  border: 1px solid var(--line); background: var(--panel); border-radius: 6px; padding: 5px 12px;
  cursor: pointer;
}
button:hover { border-color: var(--muted); }
button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-fg); }
button.link { border: 0; background: none; color: var(--accent); padding: 2px 0; }
button.danger { color: var(--error); border-color: var(--error); }
button:disabled { opacity: 0.6; cursor: default; }
input, textarea {
  width: 100%; border: 1px solid var(--line); background: var(--panel); border-radius: 6px;
  padding: 6px 8px;
}
:focus-visible, input:focus, textarea:focus {
  outline: 3px solid var(--focus); outline-offset: 2px;
}
/* Read by screen readers, not shown. */
.visually-hidden {
  position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap;
}
a { color: var(--link); }
#app { height: 100%; }
label { display: block; font-weight: 600; font-size: 13px; margin: 8px 0 4px; }
.mono { font-family: ui-monospace, 'SF Mono', Menlo, Consolas, monospace; font-size: 12px; }
.muted { color: var(--muted); }
.error { color: var(--error); margin: 6px 0 0; overflow-wrap: anywhere; }
.tag {
  display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 9px;
  border: 1px solid var(--line); color: var(--muted); margin-left: 6px; font-weight: normal;
}

/* Account screens */
.setup { min-height: 100%; display: grid; place-items: center; padding: 24px 12px; }
.card {
  width: min(560px, 100%); background: var(--panel); border: 1px solid var(--line);
  border-radius: 12px; padding: 24px;
}
.card h1 { margin: 0 0 4px; font-size: 22px; }
.card h2 { margin: 0 0 8px; font-size: 18px; }
.card p { margin: 8px 0; }
.choices { display: grid; gap: 8px; margin-top: 16px; }
.choices button { text-align: left; padding: 10px 14px; }
.choices button small { display: block; color: var(--muted); }
.choices button.primary small { color: inherit; opacity: 0.85; }
.accounts { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }
.actions { display: flex; gap: 8px; justify-content: flex-end; margin-top: 16px; flex-wrap: wrap; }
.words {
  display: grid; grid-template-columns: repeat(auto-fill, minmax(120px, 1fr)); gap: 6px;
  padding: 0; margin: 12px 0; list-style: none; counter-reset: word;
}
.words li {
  counter-increment: word; border: 1px solid var(--line); border-radius: 6px; padding: 4px 8px;
  font-family: ui-monospace, 'SF Mono', Menlo, Consolas, monospace;
}
.words li::before { content: counter(word) '. '; color: var(--muted); }
fieldset.plain { border: 0; padding: 0; margin: 12px 0 0; min-width: 0; }
fieldset.plain legend { padding: 0; }
.radio { display: flex; gap: 8px; align-items: flex-start; font-weight: normal; margin: 6px 0; }
.radio input { width: auto; margin-top: 3px; }
.opening { text-align: center; }
.fingerprint { font-size: 1.4em; letter-spacing: 0.05em; }
dialog { max-width: 28rem; border-radius: 8px; }

/* Chat */
.chat {
  height: 100%; display: grid; grid-template-columns: 260px 1fr;
  grid-template-rows: 1fr auto; grid-template-areas: 'side main' 'status status';
}
.sidebar {
  grid-area: side; display: flex; flex-direction: column; gap: 14px; padding: 14px;
  overflow-y: auto; background: var(--side); border-right: 1px solid var(--line); min-height: 0;
}
.brand h1 { font-size: 17px; margin: 0; letter-spacing: 0.02em; }
.me { margin-top: 2px; overflow-wrap: anywhere; }
nav { display: flex; flex-direction: column; gap: 2px; }
.room {
  display: flex; align-items: center; gap: 6px; width: 100%; text-align: left; border: 0;
  background: transparent; padding: 6px 8px;
}
.room:hover { background: var(--panel); }
.room.active { background: var(--accent); color: var(--accent-fg); }
/* The ring sits outside the filled active entry, in the page's colour, so it shows on it. */
.room:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.room.active:focus-visible { box-shadow: 0 0 0 2px var(--panel); }
.room.active .muted, .room.active .tag { color: inherit; border-color: currentColor; }
.room-name { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.room.unread .room-name { font-weight: 700; }
.badge {
  background: var(--accent); color: var(--accent-fg); border-radius: 9px; padding: 0 6px;
  font-size: 11px; font-weight: 700;
}
.badge.mention { background: var(--mention-line); color: #1d2026; }
.room.active .badge { background: var(--accent-fg); color: var(--accent); }
form.panel { display: flex; flex-direction: column; gap: 6px; }
form.panel h2 {
  font-size: 11px; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted);
  margin: 0;
}
main { grid-area: main; display: flex; flex-direction: column; min-width: 0; min-height: 0; }
.room-header {
  display: flex; align-items: center; gap: 10px; padding: 8px 16px; flex-wrap: wrap;
  border-bottom: 1px solid var(--line); background: var(--panel); min-height: 50px;
}
.room-header h2 {
  font-size: 16px; margin: 0; flex: 1; min-width: 6em; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap;
}
.drawer-toggle { display: none; }
.room-header button { white-space: nowrap; }
.invite {
  display: flex; gap: 6px; align-items: center; padding: 6px 16px; background: var(--panel);
  border-bottom: 1px solid var(--line);
}
.invite input { flex: 1; min-width: 0; }
.room-body { flex: 1; display: flex; min-height: 0; }
.timeline { flex: 1; position: relative; display: flex; flex-direction: column; min-width: 0; }
.messages { flex: 1; overflow-y: auto; padding: 8px 16px; min-height: 0; }
/* Long lines are hard to read: the log keeps a comfortable measure on wide windows. */
.messages .column { max-width: 52rem; margin: 0 auto; }
.jump {
  position: absolute; right: 20px; bottom: 12px; z-index: 1; border-radius: 16px;
  background: var(--accent); color: var(--accent-fg); border-color: var(--accent);
  box-shadow: 0 1px 6px rgba(0, 0, 0, 0.25);
}
.unread-divider {
  display: flex; align-items: center; gap: 8px; color: var(--error); font-size: 12px;
  font-weight: 600; margin: 6px 0;
}
.unread-divider::before, .unread-divider::after {
  content: ''; flex: 1; border-top: 1px solid var(--error);
}
.msg.grouped { padding-top: 0; }
.msg.grouped time { visibility: hidden; }
.msg.grouped:hover time, .msg.grouped:focus-within time { visibility: visible; }
.members {
  width: 220px; border-left: 1px solid var(--line); background: var(--side); overflow-y: auto;
  padding: 10px;
}
.members h3 { font-size: 12px; text-transform: uppercase; letter-spacing: 0.06em; margin: 0 0 6px; color: var(--muted); }
.members ul { list-style: none; margin: 0; padding: 0; }
.member {
  display: flex; gap: 6px; align-items: center; width: 100%; text-align: left; border: 0;
  background: none; padding: 4px 6px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis;
}
.member:hover { background: var(--panel); }
.member .presence { width: 8px; height: 8px; border-radius: 50%; border: 1px solid var(--muted); flex: none; }
.member.online .presence { background: var(--ok); border-color: var(--ok); }
.overlay {
  position: fixed; inset: 0; z-index: 10; display: grid; place-items: center; padding: 16px;
  background: rgba(10, 12, 16, 0.55);
}
.overlay .card { text-align: center; }
.devices { padding-left: 18px; }
.devices .tag { margin-left: 4px; }
.msg {
  display: grid; grid-template-columns: 3.2rem 1fr; gap: 8px; padding: 3px 6px;
  border-radius: 4px; align-items: baseline; border-left: 3px solid transparent;
}
.msg.mine { background: var(--mine); }
.msg.mention { background: var(--mention); border-left-color: var(--mention-line); }
.msg time { color: var(--muted); font-variant-numeric: tabular-nums; font-size: 12px; }
.msg .body { min-width: 0; overflow-wrap: anywhere; }
/* A name is isolated: whatever script or direction it has, it cannot reorder what follows. */
.name, bdi { unicode-bidi: isolate; }
.who .name { font-weight: 600; margin-right: 4px; }
.who .fp { color: var(--muted); unicode-bidi: isolate; direction: ltr; }
/* A name opens its profile: a button that looks like the name it is. */
.who-link { border: 0; background: none; padding: 0; font: inherit; color: inherit; text-align: left; cursor: pointer; }
.who-link:hover .name { text-decoration: underline; }
.role { color: var(--accent); font-weight: 700; margin-right: 2px; }
.title-block { flex: 1; min-width: 6em; overflow: hidden; }
.title-block h2 { flex: none; }
.topic { margin: 0; font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.announcement {
  margin: 0; padding: 6px 16px; background: var(--mention); border-bottom: 1px solid var(--line);
  border-left: 3px solid var(--mention-line); white-space: pre-wrap; overflow-wrap: anywhere;
}
.social { display: flex; flex-direction: column; gap: 6px; }
.social h2 {
  font-size: 11px; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted); margin: 0;
}
.social ul { list-style: none; margin: 0; padding: 0; }
.room.dm .presence { width: 8px; height: 8px; border-radius: 50%; border: 1px solid var(--muted); flex: none; }
.room.dm.online .presence { background: var(--ok); border-color: var(--ok); }
.request { padding: 6px; border: 1px solid var(--line); border-radius: 4px; margin-bottom: 4px; overflow-wrap: anywhere; }
.request-text { margin: 4px 0; white-space: pre-wrap; }
.request-actions, .profile-actions { display: flex; gap: 6px; flex-wrap: wrap; }
.moderation { margin-top: 12px; padding-top: 8px; border-top: 1px solid var(--line); display: flex; flex-direction: column; gap: 6px; }
.moderation h3 { margin: 0; font-size: 14px; }
.contact-link { display: flex; gap: 4px; }
.contact-link input { flex: 1; min-width: 0; }
#room-settings-form label { display: flex; flex-direction: column; gap: 2px; margin-bottom: 8px; }
#room-settings-form label.check { flex-direction: row; align-items: center; gap: 6px; }
#room-settings-form fieldset { border: 0; padding: 0; margin: 0; }
.room .lock { margin-right: 2px; }
.room .room-tag { color: var(--muted); }
.msg .text { white-space: pre-wrap; overflow-wrap: anywhere; }
.msg.action .body { font-style: italic; }
.msg { position: relative; }
.msg:focus { outline: 2px solid var(--focus); outline-offset: -2px; }
.msg.answering { border-left-color: var(--accent); }
.msg .tombstone { color: var(--muted); font-style: italic; }
.msg .edited { font-size: 12px; }
.msg .quote {
  display: block; max-width: 100%; border: 0; background: none; padding: 0 0 1px; margin: 0;
  color: var(--muted); font-size: 12px; text-align: left; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; border-radius: 0;
}
.msg .quote .name { font-weight: 600; }
.msg .quote.gone .quoted { font-style: italic; }
.reactions { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 3px; }
.chip {
  padding: 0 7px; border-radius: 10px; font-size: 12px; line-height: 20px;
  font-variant-numeric: tabular-nums;
}
.chip.self { border-color: var(--accent); background: var(--mine); font-weight: 600; }
.msg .actions {
  display: none; position: absolute; right: 6px; top: -12px; z-index: 1; gap: 2px;
  align-items: center; background: var(--panel); border: 1px solid var(--line);
  border-radius: 6px; padding: 2px; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.15);
}
.msg:hover .actions, .msg:focus-within .actions { display: flex; }
.actions button { border: 0; padding: 1px 7px; font-size: 12px; background: transparent; }
.actions button:hover, .actions button[aria-expanded=true] { background: var(--side); }
.actions button.danger { color: var(--error); }
.actions .ref { color: var(--muted); padding: 0 6px; user-select: all; }
.actions .picker { display: flex; gap: 1px; border-left: 1px solid var(--line); padding-left: 2px; }
.actions .picker button { font-size: 15px; padding: 0 4px; }
.actions .picker button.self { background: var(--mine); }
.msg .editor { display: block; margin-top: 2px; resize: vertical; min-height: 34px; }
.reply-bar {
  display: flex; gap: 6px; align-items: baseline; padding: 4px 16px 0; background: var(--panel);
  border-top: 1px solid var(--line); min-width: 0;
}
.reply-text { flex: 1; min-width: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.notice {
  margin: 0; padding: 3px 6px 3px calc(3.2rem + 17px); white-space: pre-wrap; color: var(--muted);
  /* Invites and relay links are one long word: break them rather than overflow. */
  overflow-wrap: anywhere;
}
.notice.help {
  display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; color: var(--fg);
}
.notice.help dd { margin: 0; color: var(--muted); }
.notice.error { color: var(--error); margin: 0; }
.notice.member-line { font-size: 12px; padding-top: 1px; padding-bottom: 1px; }
.day { text-align: center; color: var(--muted); font-size: 12px; margin: 10px 0 4px; }
.older { display: block; margin: 0 auto 10px; }
.placeholder { text-align: center; padding: 40px 12px; }
.composer {
  display: flex; gap: 8px; padding: 8px 16px; border-top: 1px solid var(--line);
  background: var(--panel); align-items: flex-end;
}
.composer textarea { resize: none; min-height: 36px; max-height: 30vh; }
.composer .count { align-self: center; font-size: 12px; color: var(--muted); white-space: nowrap; }
.composer .count.over { color: var(--error); font-weight: 600; }
.completions { padding: 0 16px 6px; background: var(--panel); margin: 0; }
.statusbar {
  grid-area: status; display: flex; gap: 14px; padding: 4px 12px; font-size: 12px;
  border-top: 1px solid var(--line); background: var(--side); color: var(--muted);
  flex-wrap: wrap;
}
.statusbar .state::before { content: '\25CF  '; color: var(--error); }
.statusbar .state.up::before { color: var(--ok); }
.statusbar .right { margin-left: auto; }

@media (max-width: 640px) {
  .chat { grid-template-columns: 1fr; grid-template-areas: 'main' 'status'; }
  .sidebar {
    position: fixed; inset: 0 20% 0 0; z-index: 2; box-shadow: 0 0 24px rgba(0, 0, 0, 0.35);
    transform: translateX(-105%); visibility: hidden;
  }
  .chat.drawer-open .sidebar { transform: none; visibility: visible; }
  .drawer-toggle { display: inline-block; }
  .room-header, .invite, .messages, .composer { padding-left: 10px; padding-right: 10px; }
  .notice.help { grid-template-columns: 1fr; padding-left: 6px; }
  .notice.help dd { margin-bottom: 4px; }
  .statusbar .right { margin-left: 0; }
  .room-header { flex-wrap: nowrap; gap: 6px; }
  .room-header h2 { min-width: 0; }
  .title-block { min-width: 6em; }
  /* One row in a narrow window: a long label takes two lines rather than push Leave out. */
  .room-header button { white-space: normal; }
  /* The status bar counts the peers too. */
  #room-peers { display: none; }
  .members { position: absolute; right: 0; top: 0; bottom: 0; z-index: 1; width: 75%; }
  .room-body { position: relative; }
}
`
