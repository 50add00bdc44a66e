import fs from 'fs/promises'
import path from 'path'

async function* files(dir: string): AsyncGenerator<string> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) yield* files(full)
    else if (entry.isFile()) yield full
  }
}

/**
 * Every needle found anywhere under `dir`, with the file it was found in. A file that RocksDB
 * deletes between the listing and the read (a compaction finishing) moved its contents to a
 * file the listing missed: the scan starts again, so nothing on disk is overlooked.
 */
export async function scan(dir: string, needles: Map<string, Buffer>): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    const hits = await scanOnce(dir, needles).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' && attempt < 20) return null // a folder went, as a file can
      throw err
    })
    if (hits !== null) return hits
  }
}

async function scanOnce(dir: string, needles: Map<string, Buffer>): Promise<string[] | null> {
  const hits: string[] = []
  for await (const file of files(dir)) {
    const bytes = await fs.readFile(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null
      throw err
    })
    if (bytes === null) return null
    for (const [label, needle] of needles) {
      if (bytes.includes(needle)) hits.push(`${label} in ${path.relative(dir, file)}`)
    }
  }
  return hits
}

/**
 * What of `needles` is still on disk once RocksDB has let go of the files a compaction made
 * obsolete: a file that an open iterator still reads is deleted when that iterator ends, so
 * this scans again for a short while (5 s at most) before answering with what it found.
 */
export async function scanAfterErase(dir: string, needles: Map<string, Buffer>): Promise<string[]> {
  const until = Date.now() + 5000
  for (;;) {
    const hits = await scan(dir, needles)
    if (hits.length === 0 || Date.now() > until) return hits
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
