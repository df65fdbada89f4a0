/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** API origin for a UI hosted apart from minitowerd; empty means same origin. */
  readonly VITE_API_BASE_URL?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}
