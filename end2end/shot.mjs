// Ad-hoc screenshots: node shot.mjs URL OUT WIDTH [lang]
import { chromium } from '@playwright/test';
const [url, out, width, lang] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
const ctx = await browser.newContext({ viewport: { width: Number(width), height: 900 }, locale: lang ?? 'en-US' });
const page = await ctx.newPage();
const errors = [];
page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text()); });
page.on('pageerror', (e) => errors.push(String(e)));
const t0 = Date.now();
await page.goto(url);
await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30000 });
console.log('hydrated after', Date.now() - t0, 'ms');
await page.waitForTimeout(800);
await page.screenshot({ path: out, fullPage: true });
await page.screenshot({ path: out.replace('.png', '-top.png') });
console.log('scrollWidth', await page.evaluate(() => document.documentElement.scrollWidth));
console.log(errors.join('\n'));
await browser.close();
