// The one typed client of the MiniTower HTTP API (docs/openapi.yaml). Every
// call goes through request(), which adds the bearer token, turns error
// envelopes into ApiError (falling back to "Request failed with status N") and
// reports any 401 on an authenticated call, so the session can sign out.
// Uploads use XMLHttpRequest for progress; the log stream is opened here and
// parsed by ./sse.ts.
import type { components, operations } from './schema'

type Schemas = components['schemas']
type Json<Op extends keyof operations, Code extends number> =
  operations[Op]['responses'] extends Record<Code, { content: { 'application/json': infer T } }> ? T : never

export type App = Schemas['App']
export type Version = Schemas['Version']
export type ParamsSchema = Schemas['ParamsSchema']
export type Run = Schemas['Run']
export type RunStatus = Schemas['RunStatus']
export type RunSummary = Json<'getRunSummary', 200>
export type RunCreateRequest = NonNullable<Schemas['RunCreateRequest']>
export type AttemptRecord = Schemas['AttemptRecord']
export type LogEntry = Schemas['LogEntry']
export type Runner = Schemas['Runner']
export type Sandbox = Schemas['Sandbox']
export type Resources = Schemas['Resources']
export type AttemptReason = Schemas['AttemptReason']
export type Token = Schemas['Token']
export type Secret = Schemas['Secret']
export type SecretPutRequest = Schemas['SecretPutRequest']
export type SecretPutResponse = Schemas['SecretPutResponse']
/** The scope of a secret: absent fields mean every app / every environment. */
export type SecretScope = { app?: string; environment?: string }
export type Me = Json<'getMe', 200>
export type Role = Schemas['Role']
export type AuthOptions = Json<'getAuthOptions', 200>
export type SignupRequest = Schemas['SignupRequest']
export type SignupResponse = Json<'signup', 201>
export type LoginRequest = Schemas['LoginRequest']
export type LoginResponse = Json<'login', 201>
export type TokenCreateResponse = Json<'createToken', 201>
export type ErrorCode = Schemas['ErrorCode']
export type StatusEvent = Schemas['StatusEvent']
export type Schedule = Schemas['Schedule']
/** The create body: name and cron, every other field optional (the server has defaults). */
export type ScheduleCreateRequest = Partial<Schemas['ScheduleCreateRequest']> &
  Pick<Schemas['ScheduleCreateRequest'], 'name' | 'cron'>
export type ScheduleUpdateRequest = Schemas['ScheduleUpdateRequest']
export type OverlapPolicy = Schemas['OverlapPolicy']
export type Fire = Schemas['Fire']
export type FireOutcome = Schemas['FireOutcome']
export type SchedulePreview = Schemas['SchedulePreview']
export type AttemptEvent = Schemas['AttemptEvent']
export type RunStats = Schemas['RunStats']
export type RunStatsCounts = Schemas['RunStatsCounts']

/** An API failure: HTTP status (0 for a network error), error.code when the server sent one, and the message to show. */
export class ApiError extends Error {
  readonly status: number
  readonly code: ErrorCode | string | undefined

  constructor(status: number, message: string, code?: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

/** Builds the ApiError for a non-2xx response body: the envelope's message, or "Request failed with status N". */
export function errorFromBody(status: number, body: string): ApiError {
  try {
    const parsed: unknown = JSON.parse(body)
    const err = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error
    if (err && typeof err.message === 'string' && err.message !== '') {
      return new ApiError(status, err.message, typeof err.code === 'string' ? err.code : undefined)
    }
    if (err && typeof err.code === 'string') return new ApiError(status, `Request failed with status ${status}`, err.code)
  } catch {
    // Not JSON (a proxy's HTML page, libmicrohttpd's own body): fall through.
  }
  return new ApiError(status, `Request failed with status ${status}`)
}

export interface ClientOptions {
  /** API origin; '' means the UI's own origin (VITE_API_BASE_URL). */
  baseUrl?: string
  /** The current team token, or null when signed out. */
  getToken: () => string | null
  /** Called once for every 401 answered to an authenticated call. */
  onUnauthorized?: (err: ApiError) => void
  /** Called after every call: false for a network error, true when the server answered. */
  onReachable?: (ok: boolean) => void
  fetch?: typeof fetch
  /** Factory for upload requests (tests inject a fake). */
  xhr?: () => XMLHttpRequest
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined | null>
  body?: unknown
  headers?: Record<string, string>
  /** false for the public endpoints (auth options, signup, login): no token, and a 401 does not sign out. */
  auth?: boolean
  signal?: AbortSignal
}

export interface Page {
  limit?: number
  offset?: number
}

export interface RunFilter extends Page {
  status?: string
  app?: string
  /** 'recent': newest queued_at first; absent: the API's status order. */
  order?: 'recent'
}

/** One page of runs and the number of runs the filters match (X-Total-Count). */
export interface RunPage {
  runs: Run[]
  total: number
}

export interface StatsQuery {
  bucket?: 'hour' | 'day'
  since?: string
  until?: string
}

export interface LogStreamOptions {
  afterSeq?: number
  attempt?: number
  lastEventId?: number
  signal?: AbortSignal
}

/** Builds "<base><path>?<query>" leaving out empty query values. */
export function buildUrl(base: string, path: string, query?: RequestOptions['query']): string {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v))
  }
  const qs = params.toString()
  return `${base.replace(/\/+$/, '')}${path}${qs ? `?${qs}` : ''}`
}

const seg = encodeURIComponent

/** Creates the client; see ClientOptions. */
export function createApiClient(opts: ClientOptions) {
  const base = opts.baseUrl ?? ''
  const doFetch = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init))

  function authHeaders(auth: boolean): Record<string, string> {
    const token = auth ? opts.getToken() : null
    return token ? { Authorization: `Bearer ${token}` } : {}
  }

  function fail(err: ApiError, auth: boolean): never {
    if (auth && err.status === 401) opts.onUnauthorized?.(err)
    throw err
  }

  async function send(method: string, path: string, o: RequestOptions = {}): Promise<Response> {
    const auth = o.auth ?? true
    const headers: Record<string, string> = { Accept: 'application/json', ...authHeaders(auth), ...o.headers }
    let body: string | undefined
    if (o.body !== undefined) {
      headers['Content-Type'] = 'application/json'
      body = JSON.stringify(o.body)
    }
    let res: Response
    try {
      res = await doFetch(buildUrl(base, path, o.query), { method, headers, body, signal: o.signal })
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') throw e
      opts.onReachable?.(false)
      throw new ApiError(0, `Network error: ${(e as Error)?.message ?? String(e)}`)
    }
    opts.onReachable?.(true)
    if (!res.ok) fail(errorFromBody(res.status, await res.text().catch(() => '')), auth)
    return res
  }

  async function request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const res = await send(method, path, o)
    if (res.status === 204) return undefined as T
    const text = await res.text()
    if (text.trim() === '') return undefined as T
    try {
      return JSON.parse(text) as T
    } catch {
      throw new ApiError(res.status, `Invalid JSON in response (status ${res.status})`)
    }
  }

  /** GET with ?total=true: the list's runs and its X-Total-Count (the page's length when the header is missing). */
  async function runPage(path: string, query: RequestOptions['query'], signal?: AbortSignal): Promise<RunPage> {
    const res = await send('GET', path, { query: { ...query, total: 'true' }, signal })
    const body = JSON.parse(await res.text()) as { runs: Run[] }
    const total = Number(res.headers.get('X-Total-Count'))
    return { runs: body.runs, total: Number.isFinite(total) && res.headers.has('X-Total-Count') ? total : body.runs.length }
  }

  /** POST multipart with field `artifact`; onProgress gets (sent, total) bytes. */
  function uploadVersion(app: string, file: Blob, filename: string, onProgress?: (sent: number, total: number) => void,
    signal?: AbortSignal): Promise<Version> {
    return new Promise((resolve, reject) => {
      const xhr = opts.xhr ? opts.xhr() : new XMLHttpRequest()
      xhr.open('POST', buildUrl(base, `/api/v1/apps/${seg(app)}/versions`))
      for (const [k, v] of Object.entries({ Accept: 'application/json', ...authHeaders(true) })) xhr.setRequestHeader(k, v)
      xhr.upload.onprogress = (ev) => {
        if (ev.lengthComputable) onProgress?.(ev.loaded, ev.total)
      }
      xhr.onerror = () => reject(new ApiError(0, 'Network error: upload failed'))
      xhr.onabort = () => reject(new DOMException('Upload aborted', 'AbortError'))
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          try {
            resolve(JSON.parse(xhr.responseText) as Version)
          } catch {
            reject(new ApiError(xhr.status, `Invalid JSON in response (status ${xhr.status})`))
          }
          return
        }
        const err = errorFromBody(xhr.status, xhr.responseText)
        if (err.status === 401) opts.onUnauthorized?.(err)
        reject(err)
      }
      signal?.addEventListener('abort', () => xhr.abort(), { once: true })
      const form = new FormData()
      const name = filename || 'artifact.tar.gz'
      // A File carries the name itself, so the part's filename is right in every FormData implementation.
      form.append('artifact', new File([file], name, { type: file.type || 'application/gzip' }), name)
      xhr.send(form)
    })
  }

  return {
    request,
    uploadVersion,

    authOptions: (signal?: AbortSignal) =>
      request<AuthOptions>('GET', '/api/v1/auth/options', { auth: false, signal }),
    signup: (body: SignupRequest) =>
      request<SignupResponse>('POST', '/api/v1/teams/signup', { body, auth: false }),
    login: (body: LoginRequest) =>
      request<LoginResponse>('POST', '/api/v1/teams/login', { body, auth: false }),
    me: (signal?: AbortSignal) => request<Me>('GET', '/api/v1/me', { signal }),
    /** POST /auth/logout: revokes the calling token (sign-out of a minted token). */
    logout: () => request<void>('POST', '/api/v1/auth/logout'),
    /** GET /me with a token that is not stored yet (sign-in with a token): a 401 does not sign out. */
    meWithToken: (token: string) =>
      request<Me>('GET', '/api/v1/me', { auth: false, headers: { Authorization: `Bearer ${token}` } }),

    listTokens: (signal?: AbortSignal) =>
      request<Json<'listTokens', 200>>('GET', '/api/v1/tokens', { signal }).then((r) => r.tokens),
    createToken: (body: { name?: string; role?: Role }) =>
      request<TokenCreateResponse>('POST', '/api/v1/tokens', { body }),
    revokeToken: (id: number) => request<void>('DELETE', `/api/v1/tokens/${id}`),

    listSecrets: (app?: string, signal?: AbortSignal) =>
      request<Json<'listSecrets', 200>>('GET', '/api/v1/secrets', { query: { app }, signal }).then((r) => r.secrets),
    /** Creates or replaces a secret (write-only: the value is never read back). */
    putSecret: (name: string, body: SecretPutRequest) =>
      request<SecretPutResponse>('PUT', `/api/v1/secrets/${seg(name)}`, { body }),
    deleteSecret: (name: string, scope: SecretScope = {}) =>
      request<void>('DELETE', `/api/v1/secrets/${seg(name)}`, { query: { ...scope } }),

    listApps: (signal?: AbortSignal) =>
      request<Json<'listApps', 200>>('GET', '/api/v1/apps', { signal }).then((r) => r.apps),
    createApp: (body: { slug: string; description?: string }) =>
      request<App>('POST', '/api/v1/apps', { body }),
    getApp: (slug: string, signal?: AbortSignal) => request<App>('GET', `/api/v1/apps/${seg(slug)}`, { signal }),
    listVersions: (slug: string, signal?: AbortSignal) =>
      request<Json<'listVersions', 200>>('GET', `/api/v1/apps/${seg(slug)}/versions`, { signal }).then((r) => r.versions),

    listAppRuns: (slug: string, page: Page = {}, signal?: AbortSignal) =>
      request<Json<'listAppRuns', 200>>('GET', `/api/v1/apps/${seg(slug)}/runs`, { query: { ...page }, signal })
        .then((r) => r.runs),
    createRun: (slug: string, body: RunCreateRequest, idempotencyKey?: string) =>
      request<Run>('POST', `/api/v1/apps/${seg(slug)}/runs`, {
        body,
        headers: idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : undefined,
      }),
    listRuns: (filter: RunFilter = {}, signal?: AbortSignal) =>
      request<Json<'listRuns', 200>>('GET', '/api/v1/runs', { query: { ...filter }, signal }).then((r) => r.runs),
    /** Team-wide runs with the total count (X-Total-Count). */
    listRunsPage: (filter: RunFilter = {}, signal?: AbortSignal) => runPage('/api/v1/runs', { ...filter }, signal),
    /** An app's runs (newest first) with the total count. */
    listAppRunsPage: (slug: string, page: Page = {}, signal?: AbortSignal) =>
      runPage(`/api/v1/apps/${seg(slug)}/runs`, { ...page }, signal),
    /** GET /runs/stats: per-bucket outcome counts and percentiles of the team. */
    runStats: (q: StatsQuery = {}, signal?: AbortSignal) =>
      request<RunStats>('GET', '/api/v1/runs/stats', { query: { ...q }, signal }),
    /** GET /apps/{app}/stats: the same for one app. */
    appStats: (slug: string, q: StatsQuery = {}, signal?: AbortSignal) =>
      request<RunStats>('GET', `/api/v1/apps/${seg(slug)}/stats`, { query: { ...q }, signal }),
    runSummary: (signal?: AbortSignal) => request<RunSummary>('GET', '/api/v1/runs/summary', { signal }),
    getRun: (id: number, signal?: AbortSignal) => request<Run>('GET', `/api/v1/runs/${id}`, { signal }),
    cancelRun: (id: number) => request<Run>('POST', `/api/v1/runs/${id}/cancel`),
    runLogs: (id: number, o: { afterSeq?: number; attempt?: number } = {}, signal?: AbortSignal) =>
      request<Json<'listRunLogs', 200>>('GET', `/api/v1/runs/${id}/logs`, {
        query: { after_seq: o.afterSeq, attempt: o.attempt },
        signal,
      }).then((r) => r.logs),
    runAttempts: (id: number, signal?: AbortSignal) =>
      request<Json<'listRunAttempts', 200>>('GET', `/api/v1/runs/${id}/attempts`, { signal }).then((r) => r.attempts),

    listSchedules: (slug: string, signal?: AbortSignal) =>
      request<Json<'listSchedules', 200>>('GET', `/api/v1/apps/${seg(slug)}/schedules`, { signal })
        .then((r) => r.schedules),
    createSchedule: (slug: string, body: ScheduleCreateRequest) =>
      request<Schedule>('POST', `/api/v1/apps/${seg(slug)}/schedules`, { body }),
    getSchedule: (id: number, signal?: AbortSignal) => request<Schedule>('GET', `/api/v1/schedules/${id}`, { signal }),
    updateSchedule: (id: number, body: ScheduleUpdateRequest) =>
      request<Schedule>('PATCH', `/api/v1/schedules/${id}`, { body }),
    deleteSchedule: (id: number) => request<void>('DELETE', `/api/v1/schedules/${id}`),
    pauseSchedule: (id: number) => request<Schedule>('POST', `/api/v1/schedules/${id}/pause`),
    resumeSchedule: (id: number) => request<Schedule>('POST', `/api/v1/schedules/${id}/resume`),
    triggerSchedule: (id: number, idempotencyKey?: string) =>
      request<Fire>('POST', `/api/v1/schedules/${id}/trigger`, {
        headers: idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : undefined,
      }),
    scheduleFires: (id: number, page: Page = {}, signal?: AbortSignal) =>
      request<Json<'listScheduleFires', 200>>('GET', `/api/v1/schedules/${id}/fires`, { query: { ...page }, signal })
        .then((r) => r.fires),
    previewSchedule: (cron: string, timezone: string, count = 5, signal?: AbortSignal) =>
      request<SchedulePreview>('GET', '/api/v1/schedules/preview', { query: { cron, timezone, count }, signal }),

    listRunners: (signal?: AbortSignal) =>
      request<Json<'listRunners', 200>>('GET', '/api/v1/admin/runners', { signal }).then((r) => r.runners),

    /**
     * Opens the run's event stream (fetch streaming, token in the Authorization header, never in the URL).
     * Resolves with the 200 response whose body is the stream; rejects with ApiError for an HTTP error.
     */
    openLogStream: (id: number, o: LogStreamOptions = {}) =>
      send('GET', `/api/v1/runs/${id}/logs/stream`, {
        query: { after_seq: o.afterSeq, attempt: o.attempt },
        headers: {
          Accept: 'text/event-stream',
          ...(o.lastEventId !== undefined ? { 'Last-Event-ID': String(o.lastEventId) } : {}),
        },
        signal: o.signal,
      }),
  }
}

export type ApiClient = ReturnType<typeof createApiClient>
