export { ChatModel, OLDER_PAGE, type ChatModelEvents, type ChatModelOptions } from './model.js'
export { noticeLevel, type ChatNotice, type NoticeBody } from './notices.js'
export {
  chatReducer,
  initialChatState,
  NOTICE_LIMIT,
  selectEntries,
  type ChatAction,
  type ChatState,
  type Entry,
  type RoomView,
  type Target
} from './state.js'
export { CONFIRM_WORDS, NewPhrase } from './setup.js'
