import fs from 'fs/promises'
import path from 'path'

async function* files(dir: string): AsyncGenerator<string> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) yield* files(full)
    else if (entry.isFile()) yield full
  }
}

/** Every needle found anywhere under `dir`, with the file it was found in. */
export async function scan(dir: string, needles: Map<string, Buffer>): Promise<string[]> {
  const hits: string[] = []
  for await (const file of files(dir)) {
    // RocksDB may delete a file between the listing and the read (a compaction finishing).
    const bytes = await fs.readFile(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null
      throw err
    })
    if (bytes === null) continue
    for (const [label, needle] of needles) {
      if (bytes.includes(needle)) hits.push(`${label} in ${path.relative(dir, file)}`)
    }
  }
  return hits
}
