import { defineConfig } from '@playwright/test';

// The server under test is the binary `make test` built, on an in-memory
// database; Chromium is Debian's (no browser download on this machine).
const port = Number(process.env.E2E_PORT ?? 3117);
const bin = process.env.LEADS_BIN ?? '../target/release/leads-dashboard';
const siteRoot = process.env.LEPTOS_SITE_ROOT ?? '../target/site';
const graphPort = Number(process.env.E2E_GRAPH_PORT ?? 3118);

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  retries: 0,
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    screenshot: 'only-on-failure',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    },
  },
  projects: [
    { name: 'setup', testMatch: /auth\.setup\.ts/ },
    {
      name: 'chromium',
      dependencies: ['setup'],
      use: { storageState: 'test-results/.signed-in.json' },
    },
  ],
  webServer: [
    // A stand-in of Meta's Graph API for the Conversions API (no outside
    // network): started first, the server sends to it.
    {
      command: `node graph-standin.mjs`,
      url: `http://127.0.0.1:${graphPort}/healthz`,
      reuseExistingServer: false,
      timeout: 10_000,
      env: { GRAPH_PORT: String(graphPort) },
    },
    {
      command: `${bin} serve --db mem:// --addr 127.0.0.1:${port} --site-root ${siteRoot}`,
      url: `http://127.0.0.1:${port}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      env: {
        LEADS_API_TOKEN: 'e2e-api-token-1',
        LEADS_ADMIN_PASSWORD: 'e2e-admin-password',
        LEADS_WHATSAPP_APP_SECRET: 'e2e-whatsapp-secret',
        LEADS_META_GRAPH_URL: `http://127.0.0.1:${graphPort}`,
        LEADS_META_DATASET_ID: 'e2e-dataset-1',
        LEADS_META_CAPI_TOKEN: 'e2e-capi-token-never-shown',
        LEADS_META_TEST_EVENT_CODE: 'TEST-E2E',
        LEADS_META_RETRY_SECONDS: '1',
        RUST_LOG: 'warn',
      },
    },
  ],
});
