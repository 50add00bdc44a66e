// The command parser lives in the library, shared by every UI.
export { COMMANDS, completeLine, parseCommand, type Command } from '../lib/index.js'
