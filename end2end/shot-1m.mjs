// Signs in and screenshots the Leads page, timing three views (used on the
// 1M-lead database of `make bench --keep`; see docs/benchmarks.md).
import { chromium } from 'playwright';
const base = process.argv[2], out = process.argv[3];
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium' });
const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
await page.goto(base + '/?range=7d');
await page.getByLabel(/User name|Nama pengguna/).fill('admin');
await page.getByLabel(/Password|Kata sandi/).fill('bench-password-1m');
const t0 = Date.now();
await page.getByRole('button', { name: /Sign in|Masuk/ }).click();
await page.waitForSelector('table tbody tr');
console.log('signed in and first page shown in', Date.now() - t0, 'ms');
for (const q of ['/?range=7d', '/?range=30d', '/?from=2025-11-27&to=2026-11-26']) {
  const t = Date.now();
  await page.goto(base + q);
  await page.waitForSelector('table tbody tr');
  console.log(q, 'loaded in', Date.now() - t, 'ms');
}
await page.goto(base + '/?range=7d');
await page.waitForSelector('table tbody tr');
await page.screenshot({ path: out });
await browser.close();
