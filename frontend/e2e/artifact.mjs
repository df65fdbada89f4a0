// Builds small gzip tar artifacts in memory for the browser tests: a ustar
// writer (regular files only) and the demo app (a Towerfile with parameters
// and a Python script that prints to stdout and stderr).
import { gzipSync } from 'node:zlib'

function header(name, size, mode = 0o644) {
  const h = Buffer.alloc(512)
  h.write(name, 0, 100, 'utf8')
  h.write(`${mode.toString(8).padStart(7, '0')}\0`, 100, 'ascii')
  h.write('0000000\0', 108, 'ascii') // uid
  h.write('0000000\0', 116, 'ascii') // gid
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii')
  h.write(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, '0')}\0`, 136, 'ascii')
  h.write('        ', 148, 'ascii') // checksum placeholder
  h.write('0', 156, 'ascii') // regular file
  h.write('ustar\0', 257, 'ascii')
  h.write('00', 263, 'ascii')
  let sum = 0
  for (const b of h) sum += b
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii')
  return h
}

/** A .tar.gz holding `files` ({name: text}). */
export function tarGz(files) {
  const parts = []
  for (const [name, text] of Object.entries(files)) {
    const body = Buffer.from(text, 'utf8')
    parts.push(header(name, body.length, name.endsWith('.sh') ? 0o755 : 0o644), body)
    const pad = (512 - (body.length % 512)) % 512
    if (pad) parts.push(Buffer.alloc(pad))
  }
  parts.push(Buffer.alloc(1024))
  return gzipSync(Buffer.concat(parts))
}

export const TOWERFILE = `[app]
name = "e2e-hello"
script = "main.py"

[app.timeout]
seconds = 900

[[parameters]]
name = "name"
description = "Who to greet"
type = "string"
default = "World"

[[parameters]]
name = "count"
description = "How many lines to print"
type = "integer"
default = 3

[[parameters]]
name = "pause"
description = "Seconds between lines"
type = "number"
default = 0.2

[[parameters]]
name = "shout"
type = "boolean"
default = false
`

export const MAIN_PY = `import os
import sys
import time

name = os.environ.get("name", "nobody")
count = int(os.environ.get("count", "3"))
pause = float(os.environ.get("pause", "0.2"))
shout = os.environ.get("shout", "false") == "true"
for i in range(count):
    text = f"hello {name} line {i + 1}"
    print(text.upper() if shout else text, flush=True)
    if i % 2 == 1:
        print(f"warning after line {i + 1}", file=sys.stderr, flush=True)
    time.sleep(pause)
print("done", flush=True)
`

export function demoArtifact() {
  return tarGz({ Towerfile: TOWERFILE, 'main.py': MAIN_PY })
}
