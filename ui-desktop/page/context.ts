/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { createContext } from 'preact'
import { useContext, useEffect, useState } from 'preact/hooks'
import type { PageState, PageStore } from './store.js'

export const StoreContext = createContext<PageStore | null>(null)

/** The page store, and its state: the component redraws when the state changes. */
export function useStore(): [PageState, PageStore] {
  const store = useContext(StoreContext)
  if (!store) throw new Error('useStore outside the page')
  const [, tick] = useState(0)
  useEffect(() => store.subscribe(() => tick((n) => n + 1)), [store])
  return [store.state, store]
}
