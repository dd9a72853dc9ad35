import { defineConfig } from '@playwright/test';

// The server under test is the binary `make test` built, on an in-memory
// database; Chromium is Debian's (no browser download on this machine).
const port = Number(process.env.E2E_PORT ?? 3117);
const bin = process.env.LEADS_BIN ?? '../target/release/leads-dashboard';
const siteRoot = process.env.LEPTOS_SITE_ROOT ?? '../target/site';

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
  webServer: {
    command: `${bin} serve --db mem:// --addr 127.0.0.1:${port} --site-root ${siteRoot}`,
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      LEADS_API_TOKEN: 'e2e-api-token-1',
      LEADS_ADMIN_PASSWORD: 'e2e-admin-password',
      LEADS_WHATSAPP_APP_SECRET: 'e2e-whatsapp-secret',
      RUST_LOG: 'warn',
    },
  },
});
