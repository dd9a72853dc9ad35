import { test, expect, Page } from '@playwright/test';
import { auth, hydrated, row, summary, switchLanguage } from './helpers';

const shots = process.env.E2E_SCREENSHOTS ?? 'screenshots';
const RANGE = 'from=2026-07-01&to=2026-07-31';

// July 2026: six leads, answered after 30 s, 40 s, 2 min, 3 min, 10 min and
// never; numbers 1 and 3 wrote back after the answer (engaged), 1 and 5
// bought.
function july() {
  const events: any[] = [];
  const plan = [
    { wait: 30, engaged: true, buys: true },
    { wait: 40, engaged: false, buys: false },
    { wait: 120, engaged: true, buys: false },
    { wait: 180, engaged: false, buys: false },
    { wait: 600, engaged: false, buys: true },
    { wait: null, engaged: false, buys: false },
  ];
  plan.forEach((p, i) => {
    const n = i + 1;
    const phone = `+628790000000${n}`;
    const t0 = Date.UTC(2026, 6, 7 + i, 3, 0, 0);
    const at = (s: number) => new Date(t0 + s * 1000).toISOString();
    events.push({ id: `jul-in-${n}`, occurred_at: at(0), channel: 'whatsapp', direction: 'inbound',
      contact: { phone, name: `Juli ${n}` } });
    if (p.wait !== null) {
      events.push({ id: `jul-out-${n}`, occurred_at: at(p.wait), channel: 'whatsapp', direction: 'outbound',
        sender: 'agent', contact: { phone } });
    }
    if (p.engaged) {
      events.push({ id: `jul-back-${n}`, occurred_at: at(p.wait! + 60), channel: 'whatsapp',
        direction: 'inbound', contact: { phone } });
    }
    if (p.buys) {
      events.push({ id: `jul-order-${n}`, kind: 'conversion', occurred_at: at(86_400), contact: { phone },
        conversion: { type: 'purchase', value: '125000', currency: 'IDR' } });
    }
  });
  return events;
}

test.beforeAll(async ({ request }) => {
  const r = await request.post('/api/v1/events', { headers: auth, data: july() });
  expect(r.status(), await r.text()).toBe(200);
});

async function apiTotal(request: any, quality: string) {
  const r = await request.get(`/api/v1/leads?${RANGE}&quality=${quality}`, { headers: auth });
  expect(r.status()).toBe(200);
  return (await r.json()).total as number;
}

const pct = (part: number, whole: number) => (whole === 0 ? '–' : `${Math.round((part * 100) / whole)}%`);

test('the quality filter narrows the leads as the API does, and the CSV follows', async ({ page, request }) => {
  await page.goto(`/?${RANGE}`);
  await hydrated(page);
  await expect(page.locator('nav.tabs a[href="/"]')).toHaveAttribute('aria-current', 'page');
  await expect(summary(page)).toContainText('6 leads');
  const expected: Record<string, number> = {
    engaged: 2, not_engaged: 4, one_message: 4, not_one_message: 2, buyer: 2, not_buyer: 4,
  };
  for (const [quality, n] of Object.entries(expected)) {
    await page.getByTestId('quality').selectOption(quality);
    await expect(page).toHaveURL(new RegExp(`quality=${quality}(&|$)`));
    expect(await apiTotal(request, quality)).toBe(n);
    await expect(summary(page)).toContainText(`${n} lead`);
    await expect(page.locator('table[data-testid=leads-table] tbody tr')).toHaveCount(n);
    await expect(page.getByTestId('export')).toHaveAttribute('href', new RegExp(`quality=${quality}`));
  }
  // Buyers only, then with the status filter: both conditions hold.
  await page.getByTestId('quality').selectOption('buyer');
  await expect(row(page, 'Juli 1')).toHaveCount(1);
  await expect(row(page, 'Juli 5')).toHaveCount(1);
  await page.getByTestId('touched').selectOption('no');
  await expect(summary(page)).toContainText('0 leads');

  // The link alone reproduces it; Clear filters clears it too.
  await page.goto(`/?${RANGE}&quality=buyer`);
  await hydrated(page);
  await expect(page.getByTestId('quality')).toHaveValue('buyer');
  await expect(summary(page)).toContainText('2 leads');
  await page.getByTestId('reset').click();
  await expect(page).not.toHaveURL(/quality=/);
  await expect(summary(page)).toContainText('6 leads');

  // A link's own combination is kept and shown as it is.
  await page.goto(`/?${RANGE}&quality=answered,not_buyer`);
  await hydrated(page);
  expect(await apiTotal(request, 'answered,not_buyer')).toBe(3);
  await expect(summary(page)).toContainText('3 leads');
  await expect(page.getByTestId('quality')).toHaveValue('answered,not_buyer');
});

test('rows show engaged and buyer; the first-response card has each wait\'s engaged and buyer rate', async ({ page, request }) => {
  await page.setViewportSize({ width: 1440, height: 1000 });
  await page.goto(`/?${RANGE}`);
  await hydrated(page);
  await expect(row(page, 'Juli 1').locator('.quality .badge')).toHaveText(['Engaged', 'Buyer']);
  await expect(row(page, 'Juli 3').locator('.quality .badge')).toHaveText(['Engaged']);
  await expect(row(page, 'Juli 5').locator('.quality .badge')).toHaveText(['Buyer']);
  await expect(row(page, 'Juli 2').locator('.quality')).toHaveCount(0);

  const r = await request.get(`/api/v1/leads/summary?${RANGE}`, { headers: auth });
  expect(r.status()).toBe(200);
  const s = await r.json();
  const dist = page.getByTestId('distribution');
  await expect(dist.locator('thead')).toContainText('Engaged');
  await expect(dist.locator('thead')).toContainText('Bought');
  for (const o of s.first_response_outcomes) {
    const tr = dist.locator(`tr[data-bucket="${o.bucket}"]`);
    await expect(tr.locator('td.num').first()).toHaveText(String(o.leads));
    await expect(tr.locator('td.engaged')).toHaveText(pct(o.engaged, o.leads));
    await expect(tr.locator('td.bought')).toHaveText(pct(o.buyers, o.leads));
  }
  // This data, by hand: within a minute half engaged and half bought; after
  // 5–30 minutes nobody engaged and the one lead bought; empty buckets "–".
  await expect(dist.locator('tr[data-bucket=under_1m] td.engaged')).toHaveText('50%');
  await expect(dist.locator('tr[data-bucket=under_1m] td.bought')).toHaveText('50%');
  await expect(dist.locator('tr[data-bucket="1m_to_5m"] td.bought')).toHaveText('0%');
  await expect(dist.locator('tr[data-bucket="5m_to_30m"] td.bought')).toHaveText('100%');
  await expect(dist.locator('tr[data-bucket=over_24h] td.engaged')).toHaveText('–');
  await expect(dist.locator('tr[data-bucket=all] td.engaged')).toHaveText(pct(s.engaged, s.total));
  await expect(dist.locator('tr[data-bucket=all] td.bought')).toHaveText('33%');
  await page.screenshot({ path: `${shots}/30-quality-1440.png`, fullPage: true });

  // The rates follow the filters: buyers only.
  await page.getByTestId('quality').selectOption('buyer');
  await expect(dist.locator('tr[data-bucket=all] td.bought')).toHaveText('100%');

  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto(`/?${RANGE}`);
  await hydrated(page);
  await expect(dist.locator('tr[data-bucket=under_1m] td.engaged')).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  await page.screenshot({ path: `${shots}/31-quality-375.png`, fullPage: true });

  await switchLanguage(page, 'id');
  await expect(dist.locator('thead')).toContainText('Membeli');
  await expect(page.getByTestId('quality').locator('option[value=buyer]')).toHaveText('Pembeli');
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  await page.screenshot({ path: `${shots}/32-quality-375-id.png`, fullPage: true });
});

test('a purchase made during a chat shows inside its session in the detail', async ({ page }) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  // Juli 1 bought a day after writing, before the 24 h of inactivity ended
  // the session.
  await page.goto(`/?${RANGE}&lead=%2B6287900000001`);
  await hydrated(page);
  const sessions = page.getByTestId('detail').locator('[data-testid=sessions] > li');
  await expect(sessions).toHaveCount(1);
  await expect(sessions.nth(0)).toContainText('Purchase');
  await expect(page.getByTestId('detail').locator('.session.outside')).toHaveCount(0);
  await page.screenshot({ path: `${shots}/33-detail-purchase-in-session.png` });
});
