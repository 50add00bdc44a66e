// One delivery per message per member (issue 11). A block shown live is stored without
// downloading it again: the member rebuilds the block's ciphertext (the live frame carries
// the 8 clear bytes of its encryption), hashes it into the core's Merkle tree, and hands
// Hypercore a proof it builds itself, the block with the sibling hashes up to a node it has
// already verified. Hypercore checks that proof exactly as one from a peer: the block is
// stored only if its hash chains up to the tree the writer's core key signed, so what is
// stored is byte for byte what its writer appended. If anything is missing or does not
// verify, nothing is stored and Hypercore fetches the block as before.
import flat from 'flat-tree'
import crypto from 'hypercore-crypto'
import type Hypercore from 'hypercore'
import { StampedEncryption } from './expiry-stamp.js'

interface TreeNode {
  index: number
  size: number
  hash: Buffer
}

// Hypercore 11.37.1's internals used here (pinned; see docs/SECURITY.md, "Live blocks").
interface CoreInternals {
  fork: number
  length: number
  core?: {
    state: { storage?: { read(): TreeReads } }
    verify(proof: object, from: null): Promise<boolean>
  }
}

// hypercore-storage's read batch: reads queued, then flushed together in one native call.
interface TreeReads {
  getTreeNode(index: number): Promise<TreeNode | null>
  tryFlush(): void
}

/** A live block waiting for its Hypercore copy: its plaintext and its encryption's clear bytes. */
export interface LiveCopy {
  block: Buffer
  padding: Buffer
}

/** What `storeLive` did: the blocks it stored, and their stored sizes (as 'download' counts them). */
export interface Stored {
  indexes: number[]
  /** Each stored block's size, in the order of `indexes`. */
  sizes: number[]
  bytes: number
}

/**
 * Stores blocks `[from, to)` of `core` from their live copies, each verified by Hypercore
 * against the core's signed tree (which must already reach `to`). Blocks already stored are
 * stepped over, with or without a copy (a block that came with none and was downloaded: its
 * hash is on disk, and proves its neighbours). Stops at the first block it can neither store
 * that way nor step over.
 */
export async function storeLive(
  core: Hypercore,
  blockKey: Buffer,
  from: number,
  to: number,
  copyOf: (index: number) => LiveCopy | null
): Promise<Stored> {
  const stored: Stored = { indexes: [], sizes: [], bytes: 0 }
  const internals = core as unknown as CoreInternals
  const inner = internals.core
  if (!inner || typeof inner.verify !== 'function' || to > core.length) return stored
  const fork = core.fork
  // Leaf hashes of the blocks whose live copies are known, and the ciphertexts.
  const values = new Map<number, Buffer>()
  // Blocks with no copy that are stored already: stepped over, whatever their copies say.
  const held = new Set<number>()
  for (let i = from; i < to; i++) {
    const copy = copyOf(i)
    if (copy !== null) values.set(i, StampedEncryption.seal(blockKey, i, copy.padding, copy.block))
    else if (await core.has(i)) held.add(i)
    else break
  }
  const nodes = new Map<number, TreeNode>()
  const nodeOf = (index: number): TreeNode | null => {
    const known = nodes.get(index)
    if (known) return known
    let node: TreeNode | null = null
    if (index % 2 === 0) {
      const value = values.get(index / 2)
      if (value) node = { index, size: value.byteLength, hash: crypto.data(value) }
    } else {
      const [left, right] = flat.children(index)!
      const a = nodeOf(left)
      const b = a && nodeOf(right)
      if (a && b) node = { index, size: a.size + b.size, hash: crypto.parent(a, b) }
    }
    if (node) nodes.set(index, node)
    return node
  }
  // Which blocks need storing, and for each the levels from its leaf up to the first node that
  // spans past the tree's end: the first stored one among them ends its proof.
  const head = 2 * core.length
  const pending: Array<{ index: number; value: Buffer; levels: number[] }> = []
  for (let i = from; i < to; i++) {
    if (held.has(i)) continue
    const value = values.get(i)
    if (!value) break
    if (await core.has(i)) continue
    const ite = flat.iterator(2 * i)
    // As Hypercore's missingNodes: a leaf not in the tree yet has no proof to build.
    if (ite.index + ite.factor / 2 - 1 >= head) break
    const levels: number[] = []
    while (!ite.contains(head)) {
      levels.push(ite.index)
      ite.parent()
    }
    pending.push({ index: i, value, levels })
  }
  // Whether each level is stored, read in one batch for all the blocks (Hypercore's
  // missingNodes reads one level at a time, each in a batch of its own: most of a member's
  // reads per message, docs/PERFORMANCE.md); then the stored siblings the proofs need.
  const onDisk = await readTreeNodes(inner.state, new Set(pending.flatMap((p) => p.levels)))
  if (onDisk === null) return stored
  const siblingsNeeded = new Set<number>()
  const missingOf = pending.map(({ levels }) => {
    let missing = 0
    while (missing < levels.length && !onDisk.has(levels[missing]!)) missing++
    for (let k = 0; k < missing; k++) {
      const sibling = flat.sibling(levels[k]!)
      if (nodeOf(sibling) === null) siblingsNeeded.add(sibling)
    }
    return missing
  })
  const storedSiblings = siblingsNeeded.size > 0 ? await readTreeNodes(inner.state, siblingsNeeded) : new Map<number, TreeNode>()
  if (storedSiblings === null) return stored
  const proofs: Array<{ index: number; size: number; proof: object }> = []
  for (let p = 0; p < pending.length; p++) {
    const { index: i, value, levels } = pending[p]!
    const missing = missingOf[p]!
    // How many nodes on the way up from the leaf the tree lacks: that many siblings prove it.
    const siblings: TreeNode[] = []
    for (let k = 0; k < missing; k++) {
      const sibling = flat.sibling(levels[k]!)
      const node = nodeOf(sibling) ?? storedSiblings.get(sibling) ?? null
      if (node === null) break
      siblings.push(node)
    }
    if (siblings.length < missing) break
    const block = { index: i, value, nodes: siblings }
    proofs.push({ index: i, size: value.byteLength - 8, proof: { fork, block, hash: null, seek: null, upgrade: null, manifest: null } })
  }
  // Verified together: Hypercore writes concurrent verifications in one storage batch. Each
  // verification reads the stored node its proof ends at, one read batch apiece (most of a
  // member's reads per message); those nodes were read above, so they are answered from there.
  const results = await Promise.all(withReads(inner.state, onDisk, storedSiblings, () => proofs.map(({ proof }) => inner.verify(proof, null).catch(() => false))))
  for (let k = 0; k < proofs.length; k++) {
    if (!results[k]) continue
    stored.indexes.push(proofs[k]!.index)
    stored.sizes.push(proofs[k]!.size)
    stored.bytes += proofs[k]!.size
  }
  return stored
}

// Runs `verify`, whose verifications each read the stored node their proof ends at as they
// start (Hypercore's MerkleTree.verify: `storage.read()`, one `getTreeNode`, `tryFlush()`, all
// before its first await), with those reads answered from `onDisk` and `siblings`: nodes read
// from this core's storage in this call, at this fork (a proof at any other fork is refused
// before it reads), and a node at a given index and fork never changes. Any other read goes to
// the storage, in one batch flushed once the verifications have started.
function withReads<T>(state: { storage?: { read(): TreeReads } }, onDisk: Map<number, TreeNode>, siblings: Map<number, TreeNode>, verify: () => T): T {
  const storage = state.storage
  if (!storage) return verify()
  const hadOwn = Object.prototype.hasOwnProperty.call(storage, 'read')
  const read = storage.read
  let rx: TreeReads | null = null
  const shared: TreeReads = {
    getTreeNode(index: number): Promise<TreeNode | null> {
      const node = onDisk.get(index) ?? siblings.get(index)
      if (node) return Promise.resolve(node)
      rx ??= read.call(storage)
      return rx.getTreeNode(index)
    },
    tryFlush(): void {}
  }
  storage.read = () => shared
  try {
    return verify()
  } finally {
    if (hadOwn) storage.read = read
    else delete (storage as { read?: unknown }).read
    ;(rx as TreeReads | null)?.tryFlush()
  }
}

// The stored tree nodes among `indexes`, read in one batch; null if the storage cannot be read.
async function readTreeNodes(state: { storage?: { read(): TreeReads } }, indexes: Set<number>): Promise<Map<number, TreeNode> | null> {
  const found = new Map<number, TreeNode>()
  if (indexes.size === 0) return found
  try {
    const rx = state.storage!.read()
    const reads = [...indexes].map((index) => rx.getTreeNode(index).then((node) => node && found.set(index, node)))
    rx.tryFlush()
    await Promise.all(reads)
    return found
  } catch {
    return null
  }
}
