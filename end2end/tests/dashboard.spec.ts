import { test, expect } from '@playwright/test';
import { auth, hydrated, row, summary } from './helpers';
import * as fs from 'fs';

const shots = process.env.E2E_SCREENSHOTS ?? 'screenshots';
const AUG = '/?from=2026-08-01&to=2026-08-31';

const pad = (n: number) => String(n).padStart(2, '0');

// August 2026: twelve leads over four days from two ads and organic; every
// fourth one never answered; "Agustus 0" comes back after a resolved chat.
function august() {
  const ads = [
    { platform: 'meta', type: 'ad', id: 'ad-aug-1', name: 'Promo Kemerdekaan', url: 'https://fb.me/merdeka' },
    { platform: 'tiktok', type: 'ad', id: 'ad-aug-2', name: 'TikTok Agustus' },
    null,
  ];
  const events: any[] = [];
  for (let i = 0; i < 12; i++) {
    const day = 10 + (i % 4);
    const phone = `+62877000000${pad(i)}`;
    const inbound: any = {
      id: `aug-in-${i}`, occurred_at: `2026-08-${day}T09:${pad(i)}:00+07:00`, channel: 'whatsapp',
      direction: 'inbound', contact: { phone, name: `Agustus ${i}` },
    };
    if (ads[i % 3]) inbound.source = ads[i % 3];
    events.push(inbound);
    if (i % 4 !== 3) {
      events.push({ id: `aug-out-${i}`, occurred_at: `2026-08-${day}T09:${pad(i + 2)}:00+07:00`,
        channel: 'whatsapp', direction: 'outbound', sender: 'agent', contact: { phone } });
    }
  }
  events.push({ id: 'aug-res-0', kind: 'resolved', occurred_at: '2026-08-10T10:00:00+07:00',
    channel: 'whatsapp', contact: { phone: '+6287700000000' } });
  events.push({ id: 'aug-back-0', occurred_at: '2026-08-20T08:00:00+07:00', channel: 'whatsapp',
    direction: 'inbound', contact: { phone: '+6287700000000' } });
  return events;
}

test.beforeAll(async ({ request }) => {
  const r = await request.post('/api/v1/events', { headers: auth, data: august() });
  expect(r.status()).toBe(200);
});

test('filters and presets live in the URL; back and forward restore them', async ({ page }) => {
  await page.goto(AUG);
  await hydrated(page);
  await expect(summary(page)).toContainText('12 leads');

  await page.getByTestId('touched').selectOption('no');
  await expect(page).toHaveURL(/touched=no/);
  await expect(summary(page)).toContainText('3 leads');

  // A source from the breakdown narrows further.
  await page.locator('[data-testid=breakdown] a[data-source="ad-aug-2"]').click();
  await expect(page).toHaveURL(/source=ad-aug-2/);
  await expect(summary(page)).toContainText('1 lead');
  await expect(page.getByTestId('source')).toHaveValue('ad-aug-2');

  await page.goBack();
  await expect(summary(page)).toContainText('3 leads');
  await page.goBack();
  await expect(summary(page)).toContainText('12 leads');
  await page.goForward();
  await expect(summary(page)).toContainText('3 leads');
  await expect(page.getByTestId('touched')).toHaveValue('no');

  // The link alone reproduces the view.
  await page.reload();
  await hydrated(page);
  await expect(summary(page)).toContainText('3 leads');

  await page.locator('[data-preset="30d"]').click();
  await expect(page).toHaveURL(/range=30d/);
  await expect(page).not.toHaveURL(/from=/);
  await expect(page.locator('[data-preset="30d"]')).toHaveAttribute('aria-pressed', 'true');
  await page.goBack();
  await expect(page).toHaveURL(/from=2026-08-01/);
  await expect(summary(page)).toContainText('3 leads');
});

test('the chart, the KPI cards and the table agree; the page fits 375 px', async ({ page }) => {
  await page.goto(AUG);
  await hydrated(page);
  const days = page.locator('[data-testid=chart] g.day');
  await expect(days).toHaveCount(31);
  const counts = await days.evaluateAll((gs) => gs.map((g) => Number(g.getAttribute('data-count'))));
  expect(counts.reduce((a, b) => a + b, 0)).toBe(12);
  await expect(page.getByTestId('kpi-leads')).toContainText('12');
  await expect(page.getByTestId('kpi-answered')).toContainText('9');
  await expect(page.getByTestId('kpi-awaiting')).toContainText('3');
  await expect(page.getByTestId('kpi-median')).toContainText('2 min');
  await expect(page.getByTestId('distribution')).toContainText('Never');

  await page.locator('[data-testid=chart] g.day[data-day="2026-08-10"]').hover();
  await expect(page.getByTestId('chart-caption')).toContainText('10 Aug 2026: 3 leads');
  await page.locator('[data-testid=chart] g.day[data-day="2026-08-11"]').focus();
  await expect(page.getByTestId('chart-caption')).toContainText('11 Aug 2026: 3 leads');
  await page.screenshot({ path: `${shots}/10-dashboard-1440.png`, fullPage: true });

  // The table shows the same leads the chart counts on 10 August.
  await page.goto('/?from=2026-08-10&to=2026-08-10');
  await expect(page.locator('table[data-testid=leads-table] tbody tr')).toHaveCount(3);

  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto(AUG);
  await hydrated(page);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  await page.screenshot({ path: `${shots}/11-dashboard-375.png`, fullPage: true });
  // On a phone each lead is a card: its phone, sources and first touch are
  // on screen without scrolling sideways, each with its column's name.
  const first = page.locator('table[data-testid=leads-table] tbody tr').first();
  for (const cell of ['td.name', 'td.date', 'td.phone', 'td.first-source', 'td.first-touched']) {
    const box = await first.locator(cell).boundingBox();
    expect(box, cell).not.toBeNull();
    expect(box!.x + box!.width, cell).toBeLessThanOrEqual(375);
  }
  await expect(first.locator('td.first-source')).toHaveAttribute('data-label', 'First Source');
  // The headers that sort are still there.
  await expect(page.locator('table[data-testid=leads-table] thead a.sort')).toHaveCount(3);
  await page.locator('table[data-testid=leads-table]').screenshot({ path: `${shots}/11-leads-cards-375.png` });
});

test('a row opens the lead with numbered sessions, by click and by keyboard', async ({ page }) => {
  await page.goto(AUG);
  await hydrated(page);
  await row(page, 'Agustus 0').locator('td.name').click();
  await expect(page).toHaveURL(/lead=%2B6287700000000/);
  const detail = page.getByTestId('detail');
  await expect(detail).toContainText('Promo Kemerdekaan');
  await expect(detail.locator('a[href="https://fb.me/merdeka"]').first()).toBeVisible();
  const sessions = detail.locator('[data-testid=sessions] > li');
  await expect(sessions).toHaveCount(2);
  await expect(sessions.nth(0)).toContainText('Session 1');
  await expect(sessions.nth(0)).toContainText('resolved');
  await expect(sessions.nth(0)).toContainText('Agent reply');
  await expect(sessions.nth(1)).toContainText('Session 2');
  await page.screenshot({ path: `${shots}/12-detail.png` });

  await page.keyboard.press('Escape');
  await expect(detail).toHaveCount(0);
  await expect(page).not.toHaveURL(/lead=/);

  await row(page, 'Agustus 1').focus();
  await page.keyboard.press('Enter');
  await expect(detail).toContainText('Agustus 1');
  // A modal panel keeps the keyboard: Tab never stays outside it (focus
  // that wraps past the last control is brought back to Close within a
  // frame), and wrapping throws nothing in the page.
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press(i % 3 === 2 ? 'Shift+Tab' : 'Tab');
    await expect
      .poll(() => page.evaluate(() => !!document.activeElement?.closest('[data-testid=detail]')), { timeout: 2000 })
      .toBe(true);
  }
  expect(errors).toEqual([]);
  // Closing gives the focus back to the row that opened it.
  await page.keyboard.press('Escape');
  await expect(detail).toHaveCount(0);
  await expect(row(page, 'Agustus 1')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(detail).toContainText('Agustus 1');
  await page.goBack();
  await expect(detail).toHaveCount(0);

  // The panel's own link opens it straight from the server.
  await page.goto(`${AUG}&lead=%2B6287700000001`);
  await expect(page.getByTestId('detail')).toContainText('Session 1');
});

test('the CSV download holds exactly the filtered leads', async ({ page }) => {
  await page.goto(`${AUG}&touched=no`);
  await hydrated(page);
  await expect(summary(page)).toContainText('3 leads');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
  const text = fs.readFileSync(await download.path(), 'utf8');
  expect(text.charCodeAt(0)).toBe(0xfeff);
  const lines = text.slice(1).trim().split(/\r\n/);
  expect(lines[0]).toBe('Date,Customer Name,Phone Number,Email,First Source,First Touched At,Last Source,Channel,Lead ID,Answered,Engaged,One message,Buyer,Revenue');
  expect(lines).toHaveLength(1 + 3);
  for (const n of [3, 7, 11]) expect(text).toContain(`Agustus ${n}`);
});

test('the language switch is remembered and rendered by the server', async ({ page }) => {
  await page.goto(AUG);
  await hydrated(page);
  await expect(page.locator('table[data-testid=leads-table] thead th').nth(1)).toHaveText('Customer Name');
  await page.getByTestId('lang-id').click();
  await expect(page.locator('table[data-testid=leads-table] thead th').nth(1)).toHaveText('Nama Pelanggan');
  // Back on the same view, filters and all.
  expect(page.url()).toContain(AUG);
  await expect(page.getByTestId('kpi-leads')).toContainText('Lead baru');
  const reloaded = await page.reload();
  // The first HTML is already Indonesian: no flash of English.
  const html = await reloaded!.text();
  expect(html).toContain('<html lang="id"');
  expect(html).toContain('Nama Pelanggan');
  await hydrated(page);
  await expect(page.locator('[data-preset="7d"]')).toHaveText('7 hari terakhir');
  await expect(row(page, 'Agustus 0').locator('td.date')).toHaveText('10 Agu 2026 09.00');
  await page.screenshot({ path: `${shots}/13-indonesian.png` });
});

test('column headers sort the table and say how', async ({ page }) => {
  await page.goto(AUG);
  await hydrated(page);
  const names = page.locator('table[data-testid=leads-table] tbody td.name');
  await expect(names.first()).toHaveText('Agustus 11');
  await page.locator('thead a[data-sort="name"]').click();
  await expect(page).toHaveURL(/sort=name/);
  await expect(names.first()).toHaveText('Agustus 0');
  await expect(page.locator('table[data-testid=leads-table] thead th').nth(1)).toHaveAttribute('aria-sort', 'ascending');
  await page.locator('thead a[data-sort="-name"]').click();
  await expect(names.first()).toHaveText('Agustus 9');
  await page.goBack();
  await expect(names.first()).toHaveText('Agustus 0');
});

test('a chatty lead is read window by window', async ({ page, request }) => {
  // 1,600 messages from one customer (a bot loop, a long negotiation).
  const phone = '+6287799990000';
  for (let b = 0; b < 2; b++) {
    const events = Array.from({ length: 800 }, (_, j) => {
      const i = b * 800 + j;
      const t = new Date(Date.UTC(2025, 2, 3, 2, 0, 0) + i * 60_000).toISOString();
      return i % 2 === 0
        ? { id: `chat-${i}`, occurred_at: t, channel: 'whatsapp', direction: 'inbound', contact: { phone, name: 'Cerewet' } }
        : { id: `chat-${i}`, occurred_at: t, channel: 'whatsapp', direction: 'outbound', sender: 'agent', contact: { phone } };
    });
    const r = await request.post('/api/v1/events', { headers: auth, data: events });
    expect(r.status()).toBe(200);
  }
  await page.goto('/?from=2025-03-03&to=2025-03-04&lead=%2B6287799990000');
  await hydrated(page);
  const window = page.getByTestId('detail-window');
  await expect(window).toContainText('of 1,600');
  await page.getByTestId('detail-older').click();
  await expect(page).toHaveURL(/events_before=\d+/);
  await expect(window).toContainText('of 1,600');
  await expect(page.getByTestId('detail-older')).toHaveCount(0);
  await page.screenshot({ path: `${shots}/13-detail-older.png` });
  await page.getByTestId('detail-latest').click();
  await expect(page).not.toHaveURL(/events_before=/);
  await expect(page.getByTestId('detail-older')).toBeVisible();
});

test('a skip link leads past the header to the page', async ({ page }) => {
  await page.goto(AUG);
  await hydrated(page);
  // The first Tab shows it; Enter moves the focus to the page's content,
  // the filters kept.
  await page.keyboard.press('Tab');
  const skip = page.locator('a.skip');
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await page.keyboard.press('Enter');
  await expect(page.locator('main#main')).toBeFocused();
  await expect(page).toHaveURL(/from=2026-08-01.*#main$/);
  await expect(summary(page)).toContainText('12');
});
