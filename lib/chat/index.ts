export { ChatModel, OLDER_PAGE, type ChatModelEvents, type ChatModelOptions } from './model.js'
export { noticeLevel, type ChatNotice, type NoticeBody, type NoticePerson } from './notices.js'
export {
  chatReducer,
  DEFAULT_SETTINGS,
  initialChatState,
  NOTICE_LIMIT,
  orderedRooms,
  ROLE_MARKS,
  roleOf,
  roomOrder,
  selectEntries,
  type ChatAction,
  type DmPeer,
  type ChatState,
  type Entry,
  type RoomView,
  type Target
} from './state.js'
export { CONFIRM_WORDS, NewPhrase } from './setup.js'
export { MEMBER_ACTIONS, memberActionRefusal, memberActions, type MemberAction } from './moderation.js'
