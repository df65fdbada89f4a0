// A Vite plugin that writes precompressed siblings (.br, .gz) of every text
// asset of the build, so that minitowerd serves them by content negotiation
// without compressing at request time (docs/ui.md "Serving"). It uses node's
// own zlib: no dependency. A sibling is written only when it is smaller.
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Plugin } from 'vite'

const TEXT = /\.(html|js|mjs|css|svg|json|txt|map|webmanifest)$/
const MIN_BYTES = 256

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? files(p) : [p]
  })
}

function compressFile(path: string): void {
  const raw = readFileSync(path)
  if (raw.length < MIN_BYTES) return
  const br = brotliCompressSync(raw, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  })
  if (br.length < raw.length) writeFileSync(path + '.br', br)
  const gz = gzipSync(raw, { level: 9 })
  if (gz.length < raw.length) writeFileSync(path + '.gz', gz)
}

export function precompress(outDir: string): Plugin {
  return {
    name: 'minitower-precompress',
    apply: 'build',
    closeBundle() {
      for (const f of files(outDir)) if (TEXT.test(f)) compressFile(f)
    },
  }
}
