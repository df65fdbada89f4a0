// Browser tests of the built UI against a real minitowerd and minitower-runner.
// Starts both on 127.0.0.1 with a temporary database, objects and data dirs,
// drives Debian's chromium (headless, fresh profile) with playwright-core
// through the day-to-day scenario, and prints TAP. Screenshots of every page
// go to frontend/test-results/. Without bin/minitowerd the whole test is
// skipped; without bin/minitower-runner the steps that need one are skipped.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { demoArtifact } from './artifact.mjs'
import { loadChecker } from './apicheck.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const frontend = resolve(here, '..')
const root = resolve(frontend, '..')
const binDir = process.env.MT_BIN || join(root, 'bin')
const serverBin = join(binDir, 'minitowerd')
const runnerBin = join(binDir, 'minitower-runner')
const dist = join(frontend, 'dist')
const shots = join(frontend, 'test-results')
const chromiumPath = process.env.CHROMIUM_PATH ||
  ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) => existsSync(p))
const keep = process.env.MT_E2E_KEEP === '1'

let testNo = 0
let failures = 0
let skipRest = null

function tap(ok, name, directive = '') {
  testNo++
  console.log(`${ok ? 'ok' : 'not ok'} ${testNo} - ${name}${directive ? ` # ${directive}` : ''}`)
}

function comment(text) {
  for (const line of String(text).split('\n')) console.log(`# ${line}`)
}

/** Runs one named step; after a failure the remaining steps are reported as skipped. */
async function step(name, fn, { needsRunner = false, always = false } = {}) {
  if (skipRest && !always) return tap(true, name, `SKIP ${skipRest}`)
  if (needsRunner && !ctx.runner) return tap(true, name, 'SKIP runner not built')
  try {
    await fn()
    tap(true, name)
  } catch (e) {
    failures++
    tap(false, name)
    comment(e?.stack || e)
    await shot(`failed-${testNo}`).catch(() => {})
    skipRest = `an earlier step failed (${testNo})`
  }
}

const ctx = { server: null, runner: null, browser: null, page: null, base: '', tmp: '' }

async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer()
    s.once('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => res(port))
    })
  })
}

function start(bin, env, logFile) {
  const out = []
  const child = spawn(bin, [], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const append = (d) => {
    out.push(d)
    writeFileSync(logFile, Buffer.concat(out))
  }
  child.stdout.on('data', append)
  child.stderr.on('data', append)
  child.exited = new Promise((r) => child.once('exit', (code, sig) => r({ code, sig })))
  child.logFile = logFile
  return child
}

/** SIGTERM, then SIGKILL after graceMs; resolves with {code, sig} (null when the process was never started). */
async function stop(child, graceMs) {
  if (!child) return null
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM')
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs)
    const r = await child.exited
    clearTimeout(t)
    return r
  }
  return child.exited
}

async function waitHealthy(base, child) {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`minitowerd exited with ${child.exitCode}`)
    try {
      const r = await fetch(`${base}/health`)
      if (r.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('minitowerd did not become healthy within 20 s')
}

async function shot(name) {
  if (!ctx.page) return
  mkdirSync(shots, { recursive: true })
  await ctx.page.screenshot({ path: join(shots, `${name}.png`), fullPage: true })
}

function tail(file, n = 40) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n')
  } catch {
    return '(no log)'
  }
}

async function expectText(locator, re, timeout = 30_000) {
  await locator.filter({ hasText: re }).first().waitFor({ state: 'visible', timeout })
}

/** Validates one browser response against the OpenAPI document: null when fine, a problem text, or undefined when not an API JSON response. */
async function inspect(checker, res) {
  const url = new URL(res.url())
  if (!url.pathname.startsWith('/api/')) return undefined
  const type = res.headers()['content-type'] ?? ''
  if (type.startsWith('text/event-stream')) return checker.check(res.request().method(), url.pathname, res.status(), undefined)
  let body
  try {
    const text = await res.text()
    body = text.trim() === '' ? undefined : JSON.parse(text)
  } catch {
    return undefined // the page went away before the body was read
  }
  return checker.check(res.request().method(), url.pathname, res.status(), body)
}

async function main() {
  if (!existsSync(serverBin)) {
    console.log(`ok 1 - browser e2e # SKIP server not built (${serverBin} missing)`)
    console.log('1..1')
    return 0
  }
  // The scenario needs a runner (live logs, cancelling a running job). MT_E2E_WITHOUT_RUNNER=1 runs the
  // other steps against minitowerd alone, skipping those.
  if (!existsSync(runnerBin) && process.env.MT_E2E_WITHOUT_RUNNER !== '1') {
    console.log(`ok 1 - browser e2e # SKIP runner not built (${runnerBin} missing)`)
    console.log('1..1')
    return 0
  }
  if (!chromiumPath) {
    console.log('not ok 1 - browser e2e: chromium not found (/usr/lib/chromium/chromium or /usr/bin/chromium)')
    console.log('1..1')
    return 1
  }
  if (!existsSync(join(dist, 'index.html'))) {
    const b = spawnSync('npm', ['run', 'build'], { cwd: frontend, stdio: 'inherit' })
    if (b.status !== 0) throw new Error('npm run build failed')
  }

  ctx.tmp = mkdtempSync(join(tmpdir(), 'mt-e2e-'))
  const port = await freePort()
  ctx.base = `http://127.0.0.1:${port}`
  const regToken = randomBytes(24).toString('hex')
  const keyFile = join(ctx.tmp, 'secrets.key')
  writeFileSync(keyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600 })
  const serverEnv = {
    MINITOWER_SECRETS_KEY_FILE: keyFile,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: ctx.tmp,
    MINITOWER_LISTEN_ADDR: `127.0.0.1:${port}`,
    MINITOWER_DB_PATH: join(ctx.tmp, 'minitower.db'),
    MINITOWER_OBJECTS_DIR: join(ctx.tmp, 'objects'),
    MINITOWER_UI_DIR: dist,
    MINITOWER_RUNNER_REGISTRATION_TOKEN: regToken,
    MINITOWER_DB_SYNCHRONOUS: 'normal',
    MINITOWER_EXPIRY_CHECK_INTERVAL: '1s',
  }
  comment(`minitowerd on ${ctx.base}, work dir ${ctx.tmp}`)
  ctx.server = start(serverBin, serverEnv, join(ctx.tmp, 'server.log'))

  try {
    await step('minitowerd starts and serves the UI', async () => {
      await waitHealthy(ctx.base, ctx.server)
      const r = await fetch(`${ctx.base}/`, { headers: { Accept: 'text/html' } })
      if (!r.ok) throw new Error(`GET / answered ${r.status}: ${await r.text()}`)
      const html = await r.text()
      if (!html.includes('<div id="app">')) throw new Error('GET / did not answer the built index.html')
      const deep = await fetch(`${ctx.base}/runs/123`, { headers: { Accept: 'text/html' } })
      if (!deep.ok) throw new Error(`client route /runs/123 answered ${deep.status} (no index.html fallback)`)
    })

    if (existsSync(runnerBin)) {
      const data = join(ctx.tmp, 'runner')
      mkdirSync(data, { mode: 0o700 })
      ctx.runner = start(runnerBin, {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: ctx.tmp,
        LANG: 'C.UTF-8',
        TMPDIR: ctx.tmp,
        MINITOWER_SERVER_URL: ctx.base,
        MINITOWER_RUNNER_NAME: 'e2e-runner',
        MINITOWER_RUNNER_REGISTRATION_TOKEN: regToken,
        MINITOWER_DATA_DIR: data,
        MINITOWER_PYTHON_BIN: existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3',
        MINITOWER_KILL_GRACE_PERIOD: '2s',
        MINITOWER_DRAIN_TIMEOUT: '1s',
        MINITOWER_LEASE_WAIT: '10s',
      }, join(ctx.tmp, 'runner.log'))
    } else {
      comment(`runner not built (${runnerBin} missing): steps that need a runner are skipped`)
    }

    const userData = mkdtempSync(join(tmpdir(), 'mt-chromium-'))
    ctx.browser = await chromium.launchPersistentContext(userData, {
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
      viewport: { width: 1280, height: 900 },
      baseURL: ctx.base,
    })
    ctx.page = ctx.browser.pages()[0] ?? await ctx.browser.newPage()
    ctx.page.setDefaultTimeout(30_000)
    const consoleErrors = []
    ctx.page.on('pageerror', (e) => consoleErrors.push(String(e)))
    const checker = await loadChecker(join(root, 'docs', 'openapi.yaml'))
    const seen = []
    ctx.page.on('response', (res) => seen.push(inspect(checker, res)))

    await scenario()
    if (consoleErrors.length) comment(`page errors:\n${consoleErrors.join('\n')}`)
    await step('every API response the UI received matches docs/openapi.yaml', async () => {
      const results = (await Promise.all(seen)).filter((r) => r !== undefined)
      const problems = [...new Set(results.filter((r) => r !== null))]
      comment(`${results.length} API responses checked`)
      if (problems.length) throw new Error(problems.join('\n'))
      if (results.length < 20) throw new Error(`only ${results.length} API responses were seen`)
    }, { always: true })
  } finally {
    await ctx.browser?.close().catch(() => {})
    ctx.page = null
    const runnerExit = await stop(ctx.runner, 10_000)
    const serverExit = await stop(ctx.server, 15_000)
    await step('minitowerd and the runner shut down cleanly (no sanitizer reports)', async () => {
      const problems = []
      for (const [name, exit, log] of [['minitowerd', serverExit, 'server.log'], ['runner', runnerExit, 'runner.log']]) {
        if (!exit) continue
        if (exit.code !== 0) problems.push(`${name} exited with ${exit.code ?? exit.sig} after SIGTERM`)
        const text = readFileSync(join(ctx.tmp, log), 'utf8')
        const m = text.match(/^.*(AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:).*$/m)
        if (m) problems.push(`${name}: ${m[0]}`)
      }
      if (problems.length) throw new Error(problems.join('\n'))
    }, { always: true })
    if (failures) {
      comment(`--- minitowerd log (tail) ---\n${tail(join(ctx.tmp, 'server.log'))}`)
      if (ctx.runner) comment(`--- runner log (tail) ---\n${tail(join(ctx.tmp, 'runner.log'))}`)
      comment(`(logs kept in ${ctx.tmp})`)
    }
    if (!keep && !failures) rmSync(ctx.tmp, { recursive: true, force: true })
  }
  console.log(`1..${testNo}`)
  return failures ? 1 : 0
}

const team = `e2e-${randomBytes(3).toString('hex')}`
const password = 'correct horse battery staple'
let runId = 0

async function scenario() {
  const page = ctx.page

  await step('an unknown token signs out to the sign-in page', async () => {
    await page.goto('/')
    await page.evaluate(() => localStorage.setItem('minitower_token', 'mtk_not-a-real-token'))
    await page.goto('/apps')
    await page.waitForURL(/\/login\?redirect=(%2F|\/)apps$/)
    await page.getByText('no longer valid').waitFor()
    const stored = await page.evaluate(() => localStorage.getItem('minitower_token'))
    if (stored !== null) throw new Error('the bad token was not removed from localStorage')
    await shot('01-sign-in')
  })

  await step('sign up a new team', async () => {
    await page.goto('/login')
    await page.getByTestId('signup-tab').click()
    await page.getByLabel('Team slug').fill('ab')
    await page.getByLabel('Team name').fill('E2E team')
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Create team' }).click()
    await page.getByText('slug must be at least 3 characters').waitFor()
    await shot('02-sign-up-error')
    await page.getByLabel('Team slug').fill(team)
    await page.getByRole('button', { name: 'Create team' }).click()
    await page.waitForURL((u) => u.pathname === '/')
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor()
    await expectText(page.getByTestId('team'), new RegExp(team))
    await page.locator('[data-card=total] .card__value').filter({ hasText: '0' }).waitFor()
    await shot('03-dashboard-empty')
  })

  await step('create an app (client-side slug check first)', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Apps', exact: true }).click()
    await page.getByLabel('Slug').fill('admin')
    await page.getByRole('button', { name: 'Create app' }).click()
    await page.getByText('slug is reserved').waitFor()
    await page.getByLabel('Slug').fill('e2e-hello')
    await page.getByLabel('Description (optional)').fill('Browser test app')
    await page.getByRole('button', { name: 'Create app' }).click()
    await page.waitForURL(/\/apps\/e2e-hello$/)
    await page.getByRole('heading', { name: 'e2e-hello' }).waitFor()
    await shot('04-app-empty')
  })

  const artifactPath = join(ctx.tmp, 'e2e-hello.tar.gz')
  writeFileSync(artifactPath, demoArtifact())

  await step('upload a version with the file picker', async () => {
    await page.getByTestId('artifact-input').setInputFiles(artifactPath)
    await expectText(page.getByTestId('upload-ok'), /Uploaded version v1/)
    await page.locator('[data-version="1"]').waitFor()
    await expectText(page.locator('[data-version="1"]'), /Who to greet/)
    await shot('05-app-version-uploaded')
  })

  await step('upload a second version by drag and drop', async () => {
    const bytes = readFileSync(artifactPath).toString('base64')
    await page.getByTestId('dropzone').evaluate((zone, b64) => {
      const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
      const dt = new DataTransfer()
      dt.items.add(new File([bin], 'dropped.tar.gz', { type: 'application/gzip' }))
      zone.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }))
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }))
    }, bytes)
    await expectText(page.getByTestId('upload-ok'), /Uploaded version v2/)
    await page.locator('[data-version="2"]').waitFor()
  })

  await step('a server validation error is shown for a bad artifact', async () => {
    const bad = join(ctx.tmp, 'bad.tar.gz')
    writeFileSync(bad, 'this is not gzip')
    await page.getByTestId('artifact-input').setInputFiles(bad)
    await page.getByText('artifact is not a valid gzip archive').waitFor()
  })

  await step('create a run from the generated form', async () => {
    await page.getByTestId('new-run').click()
    await page.waitForURL(/\/apps\/e2e-hello\/run$/)
    const name = page.getByLabel(/^name/)
    if ((await name.inputValue()) !== 'World') throw new Error('the default of "name" is not pre-filled')
    if ((await page.getByLabel(/^count/).inputValue()) !== '3') throw new Error('the default of "count" is not pre-filled')
    await page.getByLabel(/^count/).fill('three')
    await page.getByRole('button', { name: 'Start run' }).click()
    await page.getByText('count must be an integer').waitFor()
    await shot('06-run-form-error')
    await name.fill('Browser')
    await page.getByLabel(/^count/).fill('6')
    await page.getByLabel(/^pause/).fill('1')
    await page.getByRole('button', { name: 'Start run' }).click()
    await page.waitForURL(/\/runs\/\d+$/)
    runId = Number(new URL(page.url()).pathname.split('/').pop())
    await page.getByRole('heading', { name: /e2e-hello #1/ }).waitFor()
    await expectText(page.locator('.json'), /"name": "Browser"/)
  })

  await step('log lines appear live while the run is running', async () => {
    const box = page.getByTestId('log-box')
    await expectText(box.locator('.logs__line'), /hello Browser line 1/, 120_000)
    const status = await page.getByTestId('run-status').textContent()
    if (['completed', 'failed', 'cancelled', 'dead'].includes(String(status).trim())) {
      throw new Error(`the first line arrived only after the run ended (${status})`)
    }
    await shot('07-run-live-logs')
    await expectText(box.locator('.logs__line'), /^.*done$/, 120_000)
    await expectText(page.getByTestId('run-status'), /completed/, 60_000)
    const stderr = await box.locator('.logs__line--stderr').count()
    if (stderr < 1) throw new Error('no stderr line is marked as such')
    const lines = await box.locator('.logs__line').allTextContents()
    const hellos = lines.filter((l) => /hello Browser line \d/.test(l)).length
    if (hellos !== 6) throw new Error(`expected 6 hello lines, saw ${hellos}: ${lines.join(' | ')}`)
    await shot('08-run-completed')
  }, { needsRunner: true })

  await step('cancel a long run and see it end cancelled', async () => {
    await page.goto('/apps/e2e-hello/run')
    await page.getByLabel(/^count/).fill('100000')
    await page.getByLabel(/^pause/).fill('0.5')
    await page.getByRole('button', { name: 'Start run' }).click()
    await page.waitForURL(/\/runs\/\d+$/)
    await expectText(page.getByTestId('log-box').locator('.logs__line'), /hello World line 2/, 120_000)
    await page.getByTestId('cancel-run').click()
    await expectText(page.getByTestId('run-status'), /cancelled/, 60_000)
    await page.locator('.stream-state[data-state=ended]').waitFor({ timeout: 30_000 })
    await shot('09-run-cancelled')
  }, { needsRunner: true })

  await step('cancel a queued run (no runner needed)', async () => {
    if (ctx.runner) {
      // Keep the runner busy so the next run stays queued.
      const res = await page.evaluate(async () => {
        const token = localStorage.getItem('minitower_token')
        const h = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }
        const busy = await fetch('/api/v1/apps/e2e-hello/runs', { method: 'POST', headers: h, body: '{"input":{"count":100000,"pause":0.5}}' })
        return (await busy.json()).run_id
      })
      ctx.busyRun = res
    }
    await page.goto('/apps/e2e-hello/run')
    await page.getByRole('button', { name: 'Start run' }).click()
    await page.waitForURL(/\/runs\/\d+$/)
    await page.getByTestId('cancel-run').click()
    await expectText(page.getByTestId('run-status'), /cancelled/, 30_000)
    if (ctx.busyRun) {
      await page.evaluate(async (id) => {
        const token = localStorage.getItem('minitower_token')
        await fetch(`/api/v1/runs/${id}/cancel`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } })
      }, ctx.busyRun)
    }
  })

  await step('runs list filters by status and app, with status badges', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs', exact: true }).click()
    await page.getByRole('heading', { name: 'Runs' }).waitFor()
    await page.locator('.badge[data-status]').first().waitFor()
    await shot('10-runs')
    await page.getByLabel('Status').selectOption('cancelled')
    await page.waitForURL(/status=cancelled/)
    await page.locator('tbody tr[data-run-id]').first().waitFor()
    const statuses = await page.locator('tbody .badge[data-status]').allTextContents()
    if (statuses.length === 0 || statuses.some((s) => s.trim() !== 'cancelled')) {
      throw new Error(`status filter shows ${statuses.join(', ')}`)
    }
    await page.getByLabel('App').selectOption('e2e-hello')
    await page.waitForURL(/app=e2e-hello/)
    await page.getByLabel('Status').selectOption('')
    await page.getByLabel('App').selectOption('')
  })

  await step('dashboard shows the summary and recent runs', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard', exact: true }).click()
    await page.locator('[data-card=total] .card__value').filter({ hasNotText: /^0$|—/ }).waitFor()
    await page.locator('tbody tr[data-run-id]').first().waitFor()
    await shot('11-dashboard')
  })

  await step('re-run a run from its page', async () => {
    await page.goto(`/runs/${runId}`)
    await page.getByTestId('rerun').click()
    await page.waitForURL((u) => u.pathname.startsWith('/runs/') && u.pathname !== `/runs/${runId}`)
    await expectText(page.locator('.json'), /"name": "Browser"/)
  })

  await step('schedules: live preview, a fire that links to its run, scheduled by, pause', async () => {
    await page.goto('/apps/e2e-hello')
    await page.getByTestId('tab-schedules').click()
    await page.getByTestId('new-schedule').click()
    await page.getByLabel('Name').fill('every-two')
    await page.getByLabel('Cron expression').fill('0 0 L * *')
    await page.getByTestId('schedule-preview').getByText("'L' is not supported").waitFor()
    await page.getByLabel('Cron expression').fill('*/2 * * * * *')
    await page.getByLabel('Time zone').fill('Asia/Kathmandu')
    await page.getByTestId('schedule-preview').locator('li').nth(4).waitFor()
    await expectText(page.getByTestId('schedule-preview').locator('li').first(), /\+0545|GMT\+5:45/)
    await shot('13-schedule-form-preview')
    await page.getByRole('button', { name: 'Create schedule' }).click()
    const row = page.locator('[data-schedule=every-two]')
    await row.waitFor()
    await row.locator('button.link').click()
    const link = page.getByTestId('fire-history').getByRole('link', { name: /^#\d+$/ }).first()
    await link.waitFor({ timeout: 30_000 })
    await shot('14-schedules-history')
    await row.locator('[data-action=pause]').click()
    await expectText(row.locator('[data-col=state]'), /paused/)
    await link.click()
    await page.waitForURL(/\/runs\/\d+$/)
    await expectText(page.getByTestId('scheduled-by'), /schedule #\d+ for/)
  })

  await step('tokens: create one, see the secret once, revoke it', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tokens', exact: true }).click()
    await page.getByLabel('Name (optional)').fill('ci-token')
    await page.getByLabel('Role').selectOption('member')
    await page.getByRole('button', { name: 'Create token' }).click()
    const secret = (await page.getByTestId('token-secret').textContent())?.trim() ?? ''
    if (!/^mtk_[A-Za-z0-9_-]{43}$/.test(secret)) throw new Error(`unexpected token secret "${secret}"`)
    await page.getByRole('button', { name: 'Copy' }).waitFor()
    const row = page.locator('tbody tr').filter({ hasText: 'ci-token' })
    await row.waitFor()
    await shot('12-tokens')
    page.once('dialog', (d) => void d.accept())
    await row.getByRole('button', { name: 'Revoke' }).click()
    await row.waitFor({ state: 'detached' })
    const r = await fetch(`${ctx.base}/api/v1/me`, { headers: { Authorization: `Bearer ${secret}` } })
    if (r.status !== 401) throw new Error(`the revoked token still answers ${r.status}`)
  })

  await step('secrets: add one through a password field, never shown again, delete it', async () => {
    const value = `browser-secret-${randomBytes(6).toString('hex')}`
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Secrets', exact: true }).click()
    await page.getByRole('heading', { name: 'Secrets' }).waitFor()
    if ((await page.getByLabel('Value').getAttribute('type')) !== 'password') throw new Error('the value field is not a password field')
    await page.getByLabel('Name').fill('BROWSER_SECRET')
    await page.getByLabel('Value').fill(value)
    await page.getByLabel('Environment (optional)').fill('default')
    await page.getByRole('button', { name: 'Save secret' }).click()
    await page.getByTestId('secret-notice').waitFor()
    const row = page.locator('[data-secret="BROWSER_SECRET"]')
    await row.waitFor()
    await expectText(row.locator('[data-col=scope]'), /environment default/)
    if ((await page.content()).includes(value)) throw new Error('the page shows the secret value')
    if ((await page.getByLabel('Value').inputValue()) !== '') throw new Error('the value field was not cleared')
    await shot('12b-secrets')
    page.once('dialog', (d) => void d.accept())
    await row.getByRole('button', { name: 'Delete' }).click()
    await row.waitFor({ state: 'detached' })
  })

  await step('runners page lists the runner', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runners', exact: true }).click()
    await page.getByRole('heading', { name: 'Runners' }).waitFor()
    if (ctx.runner) await page.locator('[data-runner="e2e-runner"]').waitFor()
    await shot('13-runners')
  })

  await step('dark theme and a narrow screen', async () => {
    await page.getByTestId('theme-toggle').click()
    const theme = await page.evaluate(() => document.documentElement.dataset.theme)
    const stored = await page.evaluate(() => localStorage.getItem('minitower_theme'))
    if (theme !== stored) throw new Error(`theme ${theme} not stored (${stored})`)
    await page.goto(`/runs/${runId}`)
    await page.getByTestId('log-box').waitFor()
    await shot(`14-run-${theme}`)
    await page.setViewportSize({ width: 390, height: 844 })
    await page.getByRole('button', { name: 'Menu' }).click()
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Apps', exact: true }).click()
    await page.waitForURL(/\/apps$/)
    await shot('15-apps-narrow')
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    if (overflow > 2) throw new Error(`the page scrolls sideways by ${overflow}px on a narrow screen`)
    await page.setViewportSize({ width: 1280, height: 900 })
    await page.getByTestId('theme-toggle').click()
  })

  await step('keyboard: the sign-out button is reachable with Tab', async () => {
    await page.goto('/')
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor()
    let found = false
    for (let i = 0; i < 20 && !found; i++) {
      await page.keyboard.press('Tab')
      found = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'sign-out')
    }
    if (!found) throw new Error('sign-out not reached within 20 Tab presses')
  })

  await step('sign out revokes the token the sign-up minted', async () => {
    const old = await page.evaluate(() => localStorage.getItem('minitower_token'))
    await page.keyboard.press('Enter')
    await page.waitForURL(/\/login/)
    const stored = await page.evaluate(() => localStorage.getItem('minitower_token'))
    if (stored !== null) throw new Error('token still stored after sign-out')
    const r = await fetch(`${ctx.base}/api/v1/me`, { headers: { Authorization: `Bearer ${old}` } })
    if (r.status !== 401) throw new Error(`the signed-out token answers ${r.status}, not 401`)
    await page.goto('/runs')
    await page.waitForURL(/\/login/)
  })

  await step('sign in again with the password', async () => {
    await page.getByLabel('Team slug').fill(team)
    await page.getByLabel('Password').fill('wrong password')
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.getByText('invalid slug or password').waitFor()
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.waitForURL((u) => u.pathname === '/runs')
    await page.getByRole('heading', { name: 'Runs' }).waitFor()
  })

  await step('a member token signs in with the token form and sees no admin pages', async () => {
    const member = await page.evaluate(async () => {
      const token = localStorage.getItem('minitower_token')
      const r = await fetch('/api/v1/tokens', {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: '{"name":"e2e-member","role":"member"}',
      })
      return { status: r.status, body: await r.text() }
    }).then((r) => {
      const t = r.status === 201 ? JSON.parse(r.body).token : undefined
      if (!t) throw new Error(`creating a member token answered ${r.status}: ${r.body}`)
      return t
    })
    await page.getByTestId('sign-out').click()
    await page.waitForURL(/\/login/)
    await page.getByTestId('token-mode').click()
    await page.getByLabel('Team token').fill('mtk_not-valid')
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.getByText('invalid or missing token').waitFor()
    await page.getByLabel('Team token').fill(member)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.waitForURL((u) => u.pathname === '/')
    await expectText(page.getByTestId('team'), /member/)
    const nav = page.getByRole('navigation', { name: 'Main' })
    if (await nav.getByRole('link', { name: 'Runners' }).count()) throw new Error('a member sees the Runners link')
    await nav.getByRole('link', { name: 'Tokens', exact: true }).click()
    await page.getByText('Listing and revoking tokens needs an admin token.').waitFor()
    if (await page.getByLabel('Role').count()) throw new Error('a member is offered the role choice')
    await shot('16-tokens-member')
    await page.getByTestId('sign-out').click()
    await page.waitForURL(/\/login/)
    const r = await fetch(`${ctx.base}/api/v1/me`, { headers: { Authorization: `Bearer ${member}` } })
    if (r.status !== 200) throw new Error(`a pasted token must survive sign-out; it answers ${r.status}`)
  })
}

main().then((code) => process.exit(code), (e) => {
  console.log(`not ok ${testNo + 1} - browser e2e crashed`)
  comment(e?.stack || e)
  console.log(`1..${testNo + 1}`)
  process.exit(1)
})
