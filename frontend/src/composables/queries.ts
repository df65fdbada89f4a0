// Data hooks of the pages, one per API resource, with the refresh intervals
// of observability.md §3.5: run lists every 2 s, a run (and its attempts)
// every 2 s while it is active, the runner list every 10 s.
import { computed, type Ref } from 'vue'
import { api, type Run, type RunFilter, type StatsQuery } from '@/api'
import { isTerminal } from '@/util/status'
import { useQuery, type Query } from './useQuery'

const LIST_MS = 2000
const RUNNERS_MS = 10_000

export function useRunSummary() {
  return useQuery(() => 'runs:summary', (s) => api.runSummary(s), { refetchMs: LIST_MS })
}

/** Team-wide runs with filters and paging; `filter` is reactive. */
export function useRuns(filter: Ref<RunFilter>) {
  return useQuery(() => `runs:list:${JSON.stringify(filter.value)}`, (s) => api.listRuns(filter.value, s),
    { refetchMs: LIST_MS })
}

/** Team-wide runs with the total count (X-Total-Count); `filter` is reactive. */
export function useRunsPage(filter: Ref<RunFilter>) {
  return useQuery(() => `runs:page:${JSON.stringify(filter.value)}`, (s) => api.listRunsPage(filter.value, s),
    { refetchMs: LIST_MS })
}

/** The newest failed and dead runs of the team, newest first (two small newest-first lists merged). */
export function useRecentFailures(limit: number) {
  return useQuery(() => `runs:failures:${limit}`, async (s) => {
    const [failed, dead] = await Promise.all([
      api.listRuns({ status: 'failed', order: 'recent', limit }, s),
      api.listRuns({ status: 'dead', order: 'recent', limit }, s),
    ])
    return failed.concat(dead)
      .sort((a, b) => Date.parse(b.queued_at) - Date.parse(a.queued_at) || b.run_id - a.run_id)
      .slice(0, limit)
  }, { refetchMs: LIST_MS })
}

const STATS_MS = 10_000

/** GET /runs/stats (team) or /apps/{app}/stats when `app` is set; refreshed every 10 s. */
export function useStats(app: Ref<string | null>, q: Ref<StatsQuery>) {
  return useQuery(() => `stats:${app.value ?? ''}:${JSON.stringify(q.value)}`,
    (s) => (app.value ? api.appStats(app.value, q.value, s) : api.runStats(q.value, s)), { refetchMs: STATS_MS })
}

export function useApps() {
  return useQuery(() => 'apps:list', (s) => api.listApps(s))
}

export function useApp(slug: Ref<string>) {
  return useQuery(() => `apps:one:${slug.value}`, (s) => api.getApp(slug.value, s))
}

export function useVersions(slug: Ref<string | null>) {
  return useQuery(() => (slug.value ? `apps:versions:${slug.value}` : null), (s) => api.listVersions(slug.value!, s))
}

export function useAppRuns(slug: Ref<string>, page: Ref<{ limit: number; offset: number }>) {
  return useQuery(() => `runs:app:${slug.value}:${page.value.limit}:${page.value.offset}`,
    (s) => api.listAppRuns(slug.value, page.value, s), { refetchMs: LIST_MS })
}

/** An app's runs (newest first) with the total count. */
export function useAppRunsPage(slug: Ref<string>, page: Ref<{ limit: number; offset: number }>) {
  return useQuery(() => `runs:apppage:${slug.value}:${page.value.limit}:${page.value.offset}`,
    (s) => api.listAppRunsPage(slug.value, page.value, s), { refetchMs: LIST_MS })
}

/** One run, refreshed every 2 s while it is not terminal. */
export function useRun(id: Ref<number>) {
  const q: Query<Run> = useQuery(() => `runs:one:${id.value}`, (s) => api.getRun(id.value, s), {
    refetchMs: (): number | undefined => (q.data.value && isTerminal(q.data.value.status) ? undefined : LIST_MS),
  })
  return q
}

/** A run's attempts, refreshed every 2 s while `active` is true. */
export function useAttempts(id: Ref<number>, active: Ref<boolean>) {
  return useQuery(() => `runs:attempts:${id.value}`, (s) => api.runAttempts(id.value, s), {
    refetchMs: () => (active.value ? LIST_MS : undefined),
  })
}

/** The app's schedules, refreshed every 2 s (next fire times move). */
export function useSchedules(slug: Ref<string>) {
  return useQuery(() => `schedules:app:${slug.value}`, (s) => api.listSchedules(slug.value, s), { refetchMs: LIST_MS })
}

/** A schedule's fire history (newest first) while `id` is set, every 2 s. */
export function useScheduleFires(id: Ref<number | null>) {
  return useQuery(() => (id.value ? `schedules:fires:${id.value}` : null),
    (s) => api.scheduleFires(id.value!, { limit: 20 }, s), { refetchMs: LIST_MS })
}

/** The team's secrets (names and scopes only); with `app`, those its runs get. */
export function useSecrets(app: Ref<string | null>) {
  return useQuery(() => `secrets:list:${app.value ?? ''}`, (s) => api.listSecrets(app.value ?? undefined, s))
}

export function useTokens(enabled: Ref<boolean>) {
  return useQuery(() => (enabled.value ? 'tokens:list' : null), (s) => api.listTokens(s))
}

/** Runners of the installation; `enabled` is false for member tokens (the server would answer 403). */
export function useRunners(enabled: Ref<boolean>) {
  return useQuery(() => (enabled.value ? 'runners:list' : null), (s) => api.listRunners(s), { refetchMs: RUNNERS_MS })
}

export function useAuthOptions() {
  return useQuery(() => 'auth:options', (s) => api.authOptions(s))
}

/** Convenience: a computed that is true while a run status is active or queued. */
export function notTerminal(status: Ref<string | undefined>) {
  return computed(() => status.value !== undefined && !isTerminal(status.value))
}
