// Checks that src/api/schema.d.ts is what `npm run gen:api` makes from
// docs/openapi.yaml today, so the UI's types cannot lag behind the document.
// Prints TAP; exits 1 when the committed file is stale.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const fe = fileURLToPath(new URL('..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'mt-apitypes-'))
try {
  const out = join(dir, 'schema.d.ts')
  execFileSync(join(fe, 'node_modules', '.bin', 'openapi-typescript'), ['../docs/openapi.yaml', '-o', out],
    { cwd: fe, stdio: ['ignore', 'ignore', 'inherit'] })
  const same = readFileSync(out, 'utf8') === readFileSync(join(fe, 'src', 'api', 'schema.d.ts'), 'utf8')
  console.log(`${same ? 'ok' : 'not ok'} 1 - src/api/schema.d.ts is generated from docs/openapi.yaml`)
  if (!same) console.log('# run `npm --prefix frontend run gen:api` and commit src/api/schema.d.ts')
  console.log('1..1')
  process.exitCode = same ? 0 : 1
} finally {
  rmSync(dir, { recursive: true, force: true })
}
