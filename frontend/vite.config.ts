/// <reference types="vitest/config" />
// Vite configuration for the MiniTower web UI: the Vue plugin, the `@` alias,
// the development proxy for /api (VITE_DEV_PROXY_TARGET), the precompressed
// .br/.gz siblings of the build (compress.ts) and the vitest setup.
import { fileURLToPath, URL } from 'node:url'
import { defineConfig, loadEnv } from 'vite'
import vue from '@vitejs/plugin-vue'
import { precompress } from './compress'

export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), '')
  const target = env.VITE_DEV_PROXY_TARGET || 'http://127.0.0.1:8080'
  return {
    plugins: [vue(), precompress(fileURLToPath(new URL('./dist', import.meta.url)))],
    resolve: {
      alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
    },
    server: {
      proxy: {
        '/api': { target, changeOrigin: false },
      },
    },
    build: {
      outDir: 'dist',
      sourcemap: false,
    },
    test: {
      environment: 'happy-dom',
      include: ['src/**/*.spec.ts'],
      restoreMocks: true,
    },
  }
})
