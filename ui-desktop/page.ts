// The desktop page: a small document that loads the typed page code (page/*.tsx, compiled by
// the build to dist/ui-desktop/page/) and Preact from this same server, nothing from outside.
// The page sets all text as text (Preact makes text nodes); nothing is parsed as HTML.
import { STYLE } from './page-style.js'

/** Where the page's modules are served, and the import map that finds Preact. */
export const APP_PATH = '/app/'
export const VENDOR_PATH = '/vendor/'
export const IMPORTS: Record<string, string> = {
  preact: `${VENDOR_PATH}preact.mjs`,
  'preact/hooks': `${VENDOR_PATH}hooks.mjs`,
  'preact/jsx-runtime': `${VENDOR_PATH}jsxRuntime.mjs`
}

/** The page, with `nonce` on its inline style and scripts (the server's CSP allows only those). */
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
<script type="importmap" nonce="${nonce}">${JSON.stringify({ imports: IMPORTS })}</script>
<script type="module" nonce="${nonce}" src="${APP_PATH}main.js"></script>
</head>
<body>
<div id="app"></div>
<noscript><p>Backspace needs JavaScript to show its page.</p></noscript>
</body>
</html>
`
}
