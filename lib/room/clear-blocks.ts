// Clearing blocks in the middle of a core without losing the proofs of the blocks around them.
//
// Hypercore 11.37's clear(start, end) also deletes the Merkle tree nodes on the path from
// `start` up to a root, taking every left sibling on that path as cleared (its check is
// `s <= start && e <= end`, true for any span left of `start`). Clearing a prefix (expiry) loses
// nothing that way, but clearing blocks after a block that stays (a wipe keeps the blocks that
// hold governance) deletes the nodes that block's proof needs: once they are out of memory
// (after a restart), a peer asking for it gets the connection torn down ("Expected tree node
// ... got (nil)"). So the nodes on that path are read first and written back after: they are
// hashes of ciphertext, nothing of the cleared blocks' content.
import type Hypercore from 'hypercore'
import { MerkleTree } from 'hypercore/lib/merkle-tree.js'

interface TreeNode {
  index: number
  size: number
  hash: Buffer
}

interface TreeState {
  roots: TreeNode[]
  mutex: { lock(): Promise<void> }
  createWriteBatch(): { putTreeNode(node: TreeNode): void }
  flush(): Promise<boolean>
  _unlock(): void
}

// Flat-tree arithmetic (as the flat-tree module): a node's depth is its trailing one bits.
function depthOf(index: number): number {
  let depth = 0
  while ((index & 1) === 1) {
    index = (index - 1) / 2
    depth++
  }
  return depth
}

function nodeIndex(depth: number, offset: number): number {
  return (1 + 2 * offset) * 2 ** depth - 1
}

function offsetOf(index: number, depth: number): number {
  return ((index + 1) / 2 ** depth - 1) / 2
}

/** Clears blocks [start, end) of `core`, keeping the tree nodes other blocks' proofs need. */
export async function clearBlocks(core: Hypercore, start: number, end: number): Promise<void> {
  if (end <= start) return
  const state = (core as unknown as { state: TreeState }).state
  const roots = new Set(state.roots.map((r) => r.index))
  const path: number[] = []
  let index = start * 2
  // Bounded by the tree's height: a root is reached within 64 steps.
  for (let steps = 0; steps < 64 && !roots.has(index); steps++) {
    const depth = depthOf(index)
    const offset = offsetOf(index, depth)
    path.push(index, nodeIndex(depth, offset ^ 1))
    index = nodeIndex(depth + 1, offset >> 1)
  }
  const saved = (await Promise.all(path.map((i) => MerkleTree.get(state, i).catch(() => null)))).filter(
    (n): n is TreeNode => n !== null
  )
  await core.clear(start, end)
  if (saved.length === 0) return
  await state.mutex.lock()
  try {
    const tx = state.createWriteBatch()
    for (const node of saved) tx.putTreeNode(node)
    await state.flush()
  } finally {
    state._unlock()
  }
}
