import { describe, expect, it, vi } from 'vitest'
import { ApiError, buildUrl, createApiClient, errorFromBody } from './client'

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(typeof body === 'string' ? body : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  })
}

function setup(responses: Response[], token: string | null = 'mtk_test') {
  const calls: { url: string; init: RequestInit }[] = []
  const fetchMock = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} })
    const r = responses.shift()
    if (!r) throw new TypeError('no more responses')
    return r
  })
  const onUnauthorized = vi.fn()
  const client = createApiClient({ baseUrl: '', getToken: () => token, onUnauthorized, fetch: fetchMock as typeof fetch })
  return { client, calls, onUnauthorized }
}

describe('errorFromBody', () => {
  it('uses the envelope message and code', () => {
    const e = errorFromBody(409, '{"error":{"code":"slug_taken","message":"app slug already exists"}}\n')
    expect(e).toBeInstanceOf(ApiError)
    expect(e.status).toBe(409)
    expect(e.code).toBe('slug_taken')
    expect(e.message).toBe('app slug already exists')
  })

  it('falls back to "Request failed with status N" for non-JSON bodies', () => {
    const e = errorFromBody(502, '<html>Bad Gateway</html>')
    expect(e.message).toBe('Request failed with status 502')
    expect(e.code).toBeUndefined()
  })

  it('falls back when the JSON has no error envelope or an empty message', () => {
    expect(errorFromBody(500, '{"status":"nope"}').message).toBe('Request failed with status 500')
    expect(errorFromBody(400, '').message).toBe('Request failed with status 400')
    const e = errorFromBody(400, '{"error":{"code":"invalid_request","message":""}}')
    expect(e.message).toBe('Request failed with status 400')
    expect(e.code).toBe('invalid_request')
    expect(errorFromBody(404, 'null').message).toBe('Request failed with status 404')
  })
})

describe('buildUrl', () => {
  it('leaves out empty query values and keeps zero', () => {
    expect(buildUrl('http://h:1/', '/api/v1/runs', { limit: 25, offset: 0, status: '', app: undefined }))
      .toBe('http://h:1/api/v1/runs?limit=25&offset=0')
    expect(buildUrl('', '/api/v1/runs')).toBe('/api/v1/runs')
  })
})

describe('API client', () => {
  it('sends the bearer token and parses JSON', async () => {
    const { client, calls } = setup([jsonResponse(200, { runs: [] })])
    const runs = await client.listRuns({ limit: 10, status: 'running' })
    expect(runs).toEqual([])
    expect(calls[0].url).toBe('/api/v1/runs?limit=10&status=running')
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBe('Bearer mtk_test')
  })

  it('encodes app slugs in paths and sends JSON bodies', async () => {
    const run = { run_id: 1 }
    const { client, calls } = setup([jsonResponse(201, run)])
    await client.createRun('hello', { input: { n: 1 }, priority: 2 }, 'key-1')
    expect(calls[0].url).toBe('/api/v1/apps/hello/runs')
    expect(calls[0].init.method).toBe('POST')
    expect(calls[0].init.body).toBe('{"input":{"n":1},"priority":2}')
    const h = calls[0].init.headers as Record<string, string>
    expect(h['Content-Type']).toBe('application/json')
    expect(h['Idempotency-Key']).toBe('key-1')
  })

  it('throws ApiError with the server message', async () => {
    const { client, onUnauthorized } = setup([
      jsonResponse(400, { error: { code: 'invalid_request', message: 'input does not match schema: $.n has invalid type' } }),
    ])
    const err = await client.createRun('hello', {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).message).toBe('input does not match schema: $.n has invalid type')
    expect((err as ApiError).code).toBe('invalid_request')
    expect(onUnauthorized).not.toHaveBeenCalled()
  })

  it('reports a 401 on an authenticated call (sign out)', async () => {
    const { client, onUnauthorized } = setup([
      jsonResponse(401, { error: { code: 'unauthorized', message: 'invalid or missing token' } }),
    ])
    await expect(client.me()).rejects.toMatchObject({ status: 401, message: 'invalid or missing token' })
    expect(onUnauthorized).toHaveBeenCalledTimes(1)
  })

  it('does not sign out on a failed login, and sends no token to public endpoints', async () => {
    const { client, calls, onUnauthorized } = setup([
      jsonResponse(401, { error: { code: 'unauthorized', message: 'invalid slug or password' } }),
      jsonResponse(200, { signup_enabled: true, bootstrap_enabled: false }),
    ])
    await expect(client.login({ slug: 'acme', password: 'x' })).rejects.toMatchObject({ message: 'invalid slug or password' })
    expect(onUnauthorized).not.toHaveBeenCalled()
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBeUndefined()
    expect(await client.authOptions()).toEqual({ signup_enabled: true, bootstrap_enabled: false })
    expect((calls[1].init.headers as Record<string, string>).Authorization).toBeUndefined()
  })

  it('checks a token that is not stored yet without signing out on 401', async () => {
    const { client, calls, onUnauthorized } = setup([
      jsonResponse(401, { error: { code: 'unauthorized', message: 'invalid or missing token' } }),
    ], null)
    await expect(client.meWithToken('mtk_other')).rejects.toMatchObject({ status: 401 })
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBe('Bearer mtk_other')
    expect(onUnauthorized).not.toHaveBeenCalled()
  })

  it('maps network failures to status 0', async () => {
    const { client } = setup([])
    await expect(client.listApps()).rejects.toMatchObject({ status: 0 })
  })

  it('returns undefined for 204 (token revocation)', async () => {
    const { client, calls } = setup([new Response(null, { status: 204 })])
    await expect(client.revokeToken(7)).resolves.toBeUndefined()
    expect(calls[0].init.method).toBe('DELETE')
    expect(calls[0].url).toBe('/api/v1/tokens/7')
  })

  it('opens the log stream with Last-Event-ID and no token in the URL', async () => {
    const { client, calls } = setup([new Response('event: status\ndata: {"status":"running"}\n\n', { status: 200 })])
    const res = await client.openLogStream(42, { lastEventId: 17, attempt: 2 })
    expect(res.status).toBe(200)
    expect(calls[0].url).toBe('/api/v1/runs/42/logs/stream?attempt=2')
    expect(calls[0].url).not.toContain('mtk_')
    const h = calls[0].init.headers as Record<string, string>
    expect(h['Last-Event-ID']).toBe('17')
    expect(h.Accept).toBe('text/event-stream')
    expect(h.Authorization).toBe('Bearer mtk_test')
  })

  it('rejects a stream that fails before it starts with the envelope message', async () => {
    const { client } = setup([jsonResponse(404, { error: { code: 'not_found', message: 'run not found' } })])
    await expect(client.openLogStream(9)).rejects.toMatchObject({ status: 404, message: 'run not found' })
  })
})

describe('uploadVersion', () => {
  class FakeXhr {
    static last: FakeXhr
    method = ''
    url = ''
    headers: Record<string, string> = {}
    status = 0
    responseText = ''
    body: FormData | null = null
    upload: { onprogress: ((ev: { lengthComputable: boolean; loaded: number; total: number }) => void) | null } = { onprogress: null }
    onload: (() => void) | null = null
    onerror: (() => void) | null = null
    onabort: (() => void) | null = null
    constructor() { FakeXhr.last = this }
    open(m: string, u: string) { this.method = m; this.url = u }
    setRequestHeader(k: string, v: string) { this.headers[k] = v }
    send(b: FormData) { this.body = b }
    abort() { this.onabort?.() }
  }

  function client(onUnauthorized = vi.fn()) {
    return createApiClient({
      getToken: () => 'mtk_x',
      onUnauthorized,
      xhr: () => new FakeXhr() as unknown as XMLHttpRequest,
    })
  }

  it('posts the artifact field with progress and resolves with the version', async () => {
    const progress: number[] = []
    const p = client().uploadVersion('hello', new Blob(['abc']), 'hello.tar.gz', (s, t) => progress.push(s / t))
    const x = FakeXhr.last
    expect(x.method).toBe('POST')
    expect(x.url).toBe('/api/v1/apps/hello/versions')
    expect(x.headers.Authorization).toBe('Bearer mtk_x')
    const part = x.body!.get('artifact') as File
    expect(part).toBeInstanceOf(Blob)
    expect(part.name).toBe('hello.tar.gz')
    x.upload.onprogress!({ lengthComputable: true, loaded: 50, total: 100 })
    x.upload.onprogress!({ lengthComputable: true, loaded: 100, total: 100 })
    x.status = 201
    x.responseText = '{"version_id":3,"version_no":1}\n'
    x.onload!()
    await expect(p).resolves.toMatchObject({ version_no: 1 })
    expect(progress).toEqual([0.5, 1])
  })

  it('rejects with the server message and signs out on 401', async () => {
    const unauthorized = vi.fn()
    const p = client(unauthorized).uploadVersion('hello', new Blob(['x']), 'a.tar.gz')
    const x = FakeXhr.last
    x.status = 400
    x.responseText = '{"error":{"code":"TOWERFILE_MISSING","message":"artifact is not a valid gzip archive"}}'
    x.onload!()
    await expect(p).rejects.toMatchObject({ code: 'TOWERFILE_MISSING', message: 'artifact is not a valid gzip archive' })
    const p2 = client(unauthorized).uploadVersion('hello', new Blob(['x']), 'a.tar.gz')
    FakeXhr.last.status = 401
    FakeXhr.last.responseText = ''
    FakeXhr.last.onload!()
    await expect(p2).rejects.toMatchObject({ status: 401, message: 'Request failed with status 401' })
    expect(unauthorized).toHaveBeenCalledTimes(1)
  })
})
