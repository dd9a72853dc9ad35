import { test, expect, Page } from '@playwright/test';
import { auth, hydrated, summary, switchLanguage } from './helpers';

const shots = process.env.E2E_SCREENSHOTS ?? 'screenshots';
const RANGE = 'from=2026-06-01&to=2026-06-30';

const A = { platform: 'meta', type: 'ad', id: 'ad-jun-1', name: 'Kopi Juni' };
const B = { platform: 'tiktok', type: 'ad', id: 'ad-jun-2', name: 'Teh Juni' };

// June 2026: three leads of Kopi Juni (one comes back later through Teh
// Juni, so its last source differs, and then buys), two of Teh Juni, two organic; a May
// lead of Kopi Juni whose purchase falls in June, and a June lead of Teh
// Juni whose purchase falls in July (so the two ways of counting by date
// differ); spend on both ads, and a day of May outside the range.
function june() {
  const events: any[] = [];
  const lead = (n: number, at: string, source: any) => {
    const e: any = { id: `jun-in-${n}`, occurred_at: at, channel: 'whatsapp', direction: 'inbound',
      contact: { phone: `+628780000000${n}`, name: `Juni ${n}` } };
    if (source) e.source = source;
    events.push(e);
  };
  const reply = (n: number, at: string) => events.push({ id: `jun-out-${n}`, occurred_at: at,
    channel: 'whatsapp', direction: 'outbound', sender: 'agent', contact: { phone: `+628780000000${n}` } });
  const again = (n: number, at: string, source?: any) => {
    const e: any = { id: `jun-again-${n}-${at}`, occurred_at: at, channel: 'whatsapp', direction: 'inbound',
      contact: { phone: `+628780000000${n}` } };
    if (source) e.source = source;
    events.push(e);
  };
  const buy = (n: number, at: string, value: string) => events.push({ id: `jun-order-${n}`, kind: 'conversion',
    occurred_at: at, contact: { phone: `+628780000000${n}` },
    conversion: { type: 'purchase', value, currency: 'IDR' } });

  lead(0, '2026-05-28T09:00:00+07:00', A); reply(0, '2026-05-28T09:02:00+07:00');
  buy(0, '2026-06-05T10:00:00+07:00', '99000');
  // Answered in a minute, wrote back (engaged), bought in June.
  lead(1, '2026-06-10T09:00:00+07:00', A); reply(1, '2026-06-10T09:01:00+07:00');
  again(1, '2026-06-10T09:03:00+07:00'); buy(1, '2026-06-12T15:00:00+07:00', '150000');
  // One message; comes back ten days later from the other ad.
  lead(2, '2026-06-10T10:00:00+07:00', A); reply(2, '2026-06-10T10:05:00+07:00');
  again(2, '2026-06-20T10:00:00+07:00', B); buy(2, '2026-06-21T10:00:00+07:00', '40000');
  // Never answered.
  lead(3, '2026-06-11T11:00:00+07:00', A);
  // Engaged, bought in July.
  lead(4, '2026-06-11T12:00:00+07:00', B); reply(4, '2026-06-11T12:02:00+07:00');
  again(4, '2026-06-11T12:03:00+07:00'); buy(4, '2026-07-03T12:00:00+07:00', '200000');
  lead(5, '2026-06-12T13:00:00+07:00', B); reply(5, '2026-06-12T13:30:00+07:00');
  // Organic: one buyer, one never answered.
  lead(6, '2026-06-12T14:00:00+07:00', null); reply(6, '2026-06-12T14:10:00+07:00');
  buy(6, '2026-06-13T09:00:00+07:00', '50000');
  lead(7, '2026-06-13T15:00:00+07:00', null);
  return events;
}

const spend = [
  { date: '2026-05-31', platform: 'meta', ad_id: 'ad-jun-1', spend: 1000, ad_name: 'Kopi Juni' },
  { date: '2026-06-10', platform: 'meta', ad_id: 'ad-jun-1', spend: 60000, ad_name: 'Kopi Juni' },
  { date: '2026-06-11', platform: 'meta', ad_id: 'ad-jun-1', spend: 50000 },
  { date: '2026-06-11', platform: 'tiktok', ad_id: 'ad-jun-2', spend: 30000, ad_name: 'Teh Juni' },
];

test.beforeAll(async ({ request }) => {
  const r = await request.post('/api/v1/events', { headers: auth, data: june() });
  expect(r.status(), await r.text()).toBe(200);
  const s = await request.post('/api/v1/spend', { headers: auth, data: spend });
  expect(s.status(), await s.text()).toBe(200);
});

// The page's texts in English, as the API's numbers would be written.
const int = (n: number) => n.toLocaleString('en-US');
// Whole units, with the cents when there are any.
const money = (v: number | null) =>
  v === null ? '–' : `Rp ${Number.isInteger(v) ? int(v) : v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const key = (row: any) => (row.source === null ? 'none' : row.source.id ?? row.source.platform);
const COLS = ['spend', 'leads', 'cost_per_lead', 'answered', 'engaged', 'one_message', 'median_first_touch',
  'buyers', 'revenue', 'cost_per_buyer', 'roas'];

/** The page's table as `{source: [cell texts…]}`, and the total row. */
async function table(page: Page) {
  const rows = await page.locator('[data-testid=ads-table] tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [tr.getAttribute('data-source'), [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim())]));
  const total = await page.locator('[data-testid=ads-table] tfoot td').allTextContents();
  return { order: rows.map((r) => r[0] as string), cells: Object.fromEntries(rows), total: total.map((t) => t.trim()) };
}

/** Each cell the API gives a number for is the page's number. */
function same(cells: string[], f: any) {
  const at = (c: string) => cells[COLS.indexOf(c)];
  expect(at('spend')).toBe(money(f.spend));
  expect(at('leads')).toBe(int(f.leads));
  expect(at('cost_per_lead')).toBe(money(f.cost_per_lead));
  for (const c of ['answered', 'engaged', 'one_message']) expect(at(c).split(' ')[0]).toBe(int(f[c]));
  expect(at('buyers')).toBe(int(f.buyers));
  expect(at('revenue')).toBe(money(f.revenue));
  expect(at('cost_per_buyer')).toBe(money(f.cost_per_buyer));
  expect(at('roas')).toBe(f.roas === null ? '–' : `${f.roas}×`);
}

async function agrees(page: Page, request: any, query: string) {
  const r = await request.get(`/api/v1/ads?${query}`, { headers: auth });
  expect(r.status()).toBe(200);
  const api = await r.json();
  // The table is fetched again after each change of the URL: compare once
  // the new one is in (until then the old one or the skeleton shows).
  let order: string[] = [];
  await expect(async () => {
    const t = await table(page);
    expect(t.order).toHaveLength(api.rows.length);
    for (const row of api.rows) same(t.cells[key(row)], row);
    same(t.total, api.total);
    order = t.order;
  }).toPass({ timeout: 10_000 });
  return { api, order };
}

/** Waits until the rows are in this order. */
async function rowsAre(page: Page, expected: (order: string[]) => void) {
  await expect(async () => expected((await table(page)).order)).toPass({ timeout: 10_000 });
}

const byKey = (api: any) => Object.fromEntries(api.rows.map((r: any) => [key(r), r]));

test('the Ads view shows the API report; its toggles, sorting and links work', async ({ page, request }) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(`/ads?${RANGE}`);
  await hydrated(page);
  await expect(page.locator('nav.tabs a[href="/ads"]')).toHaveAttribute('aria-current', 'page');
  await expect(page.locator('nav.tabs a[href="/"]')).not.toHaveAttribute('aria-current', 'page');
  await expect(page.getByTestId('ads-period')).toHaveText('1 Jun 2026 – 30 Jun 2026');
  // Fixed days: no preset is chosen.
  await expect(page.locator('.presets a[aria-current]')).toHaveCount(0);
  const first = await agrees(page, request, RANGE);
  // The spec's arithmetic on this data: spend in the range only, purchases
  // of the range's leads, organic without spend.
  const f = byKey(first.api);
  expect([f['ad-jun-1'].spend, f['ad-jun-1'].leads, f['ad-jun-1'].buyers, f['ad-jun-1'].revenue]).toEqual([110000, 3, 2, 190000]);
  expect([f['ad-jun-2'].spend, f['ad-jun-2'].leads, f['ad-jun-2'].buyers, f['ad-jun-2'].revenue]).toEqual([30000, 2, 1, 200000]);
  expect([f.none.spend, f.none.leads, f.none.buyers]).toEqual([null, 2, 1]);
  expect(first.api.total.leads).toBe(7);
  // Spend descending by default.
  expect(first.order).toEqual(['ad-jun-1', 'ad-jun-2', 'none']);
  await expect(page.locator('th[data-col=spend]')).toHaveAttribute('aria-sort', 'descending');
  await page.screenshot({ path: `${shots}/20-ads-1440.png`, fullPage: true });

  // Last source: the purchase of the lead that came back through Teh Juni
  // is credited to Teh Juni; the lead stays with Kopi Juni, where it began.
  await page.getByRole('link', { name: 'Last source' }).click();
  await expect(page).toHaveURL(/attribution=last/);
  const last = byKey((await agrees(page, request, `${RANGE}&attribution=last`)).api);
  expect([last['ad-jun-1'].leads, last['ad-jun-2'].leads]).toEqual([3, 2]);
  expect([last['ad-jun-1'].buyers, last['ad-jun-2'].buyers]).toEqual([1, 2]);
  expect([last['ad-jun-1'].revenue, last['ad-jun-2'].revenue]).toEqual([150000, 240000]);
  await expect(page.getByRole('link', { name: 'Last source' })).toHaveAttribute('aria-current', 'true');

  // By purchase date: May's lead's June purchase counts, the July one does not.
  await page.getByRole('link', { name: 'First source' }).click();
  await expect(page).toHaveURL(/attribution=first/);
  await page.getByRole('link', { name: 'By purchase date' }).click();
  await expect(page).toHaveURL(/count_by=event_date/);
  const ev = byKey((await agrees(page, request, `${RANGE}&attribution=first&count_by=event_date`)).api);
  expect(ev['ad-jun-1'].revenue).toBe(150000 + 99000 + 40000);
  expect(ev['ad-jun-2'].revenue).toBe(0);
  expect(ev['ad-jun-1'].leads).toBe(3);

  // A column header sorts, descending first, then ascending.
  await page.getByRole('link', { name: 'By lead date' }).click();
  await expect(page).toHaveURL(/count_by=lead_date/);
  await page.locator('th[data-col=leads] a').click();
  await expect(page).toHaveURL(/order=-leads/);
  await expect(page.locator('th[data-col=leads]')).toHaveAttribute('aria-sort', 'descending');
  await rowsAre(page, (o) => expect(o[0]).toBe('ad-jun-1'));
  await page.locator('th[data-col=leads] a').click();
  await expect(page).toHaveURL(/order=leads(&|$)/);
  await expect(page.locator('th[data-col=leads]')).toHaveAttribute('aria-sort', 'ascending');
  await rowsAre(page, (o) => expect(o[o.length - 1]).toBe('ad-jun-1'));
  await page.locator('th[data-col=revenue] a').click();
  await expect(page).toHaveURL(/order=-revenue/);
  await expect(page.locator('th[data-col=revenue]')).toHaveAttribute('aria-sort', 'descending');
  await rowsAre(page, (o) => expect(o).toEqual(['ad-jun-2', 'ad-jun-1', 'none']));
  await page.locator('th[data-col=source] a').click();
  await expect(page).toHaveURL(/order=-source/);
  await page.locator('th[data-col=source] a').click();
  await expect(page).toHaveURL(/order=source/);
  await expect(page.locator('th[data-col=source]')).toHaveAttribute('aria-sort', 'ascending');
  // Kopi Juni, Organic, Teh Juni.
  await rowsAre(page, (o) => expect(o).toEqual(['ad-jun-1', 'none', 'ad-jun-2']));

  // Each row opens the Leads page filtered to its source, with as many leads.
  for (const [source, leads] of [['ad-jun-2', 2], ['none', 2], ['ad-jun-1', 3]] as const) {
    await page.goto(`/ads?${RANGE}`);
    await hydrated(page);
    await page.locator(`tr[data-source="${source}"] th a`).click();
    await expect(page).toHaveURL(new RegExp(`^[^?]*/\\?.*source=${source}`));
    await expect(summary(page)).toContainText(`${leads} lead`);
    const api = await (await request.get(`/api/v1/leads?${RANGE}&source=${source}`, { headers: auth })).json();
    expect(api.total).toBe(leads);
  }
  // Filtered to Kopi Juni, the picker still offers Teh Juni: one step to the other ad.
  const picker = page.getByTestId('source');
  await expect(picker).toHaveValue('ad-jun-1');
  await expect(picker.locator('option[value="ad-jun-2"]')).toHaveCount(1);
  await picker.selectOption('ad-jun-2');
  await expect(page).toHaveURL(/source=ad-jun-2/);
  await expect(summary(page)).toContainText('2 lead');
});

test('by last source, a row still opens the Leads page filtered to its leads', async ({ page, request }) => {
  // The rows are first sources under either attribution.
  for (const [source, leads] of [['ad-jun-2', 2], ['ad-jun-1', 3]] as const) {
    await page.goto(`/ads?${RANGE}&attribution=last`);
    await hydrated(page);
    await page.locator(`tr[data-source="${source}"] th a`).click();
    await expect(page).toHaveURL(new RegExp(`[?&]source=${source}(&|$)`));
    await expect(page).not.toHaveURL(/last_source=/);
    await expect(summary(page)).toContainText(`${leads} lead`);
  }
  // The Leads page's own last-source filter (Teh Juni is the last source
  // of one more lead than it is the first of), shown as a chip.
  await page.goto(`/?${RANGE}&last_source=ad-jun-2`);
  await hydrated(page);
  await expect(summary(page)).toContainText('3 lead');
  await expect(page.getByTestId('last-source')).toContainText('Last source');
  const api = await (await request.get(`/api/v1/leads?${RANGE}&last_source=ad-jun-2`, { headers: auth })).json();
  expect(api.total).toBe(3);
  await page.setViewportSize({ width: 375, height: 800 });
  await page.screenshot({ path: `${shots}/23-leads-last-source-375.png`, fullPage: false });
  // The chip removes the filter.
  await page.getByTestId('last-source-remove').click();
  await expect(page).not.toHaveURL(/last_source=/);
  await expect(page.getByTestId('last-source')).toHaveCount(0);
});

test('the Ads view has the period presets, kept relative and with the toggles', async ({ page }) => {
  await page.goto(`/ads?${RANGE}&attribution=last`);
  await hydrated(page);
  await page.locator('.presets a[data-preset="30d"]').click();
  await expect(page).toHaveURL(/range=30d/);
  await expect(page).toHaveURL(/attribution=last/);
  await expect(page).not.toHaveURL(/from=/);
  await expect(page.locator('.presets a[data-preset="30d"]')).toHaveAttribute('aria-current', 'true');
  await expect(page.getByTestId('ads-period')).not.toHaveText('1 Jun 2026 – 30 Jun 2026');
  // A toggle keeps the preset.
  await page.getByRole('link', { name: 'First source' }).click();
  await expect(page).toHaveURL(/range=30d.*attribution=first|attribution=first.*range=30d/);
  // Without any period the view is the last 7 days, as the Leads page.
  await page.goto('/ads');
  await expect(page.locator('.presets a[data-preset="7d"]')).toHaveAttribute('aria-current', 'true');
  // Opened from the nav (no filter in the URL), the toggles still show
  // the report (the page asks its server function with no filter at all).
  await hydrated(page);
  await page.getByRole('link', { name: 'Last source' }).click();
  await expect(page).toHaveURL(/attribution=last/);
  await page.getByRole('link', { name: 'By purchase date' }).click();
  await expect(page).toHaveURL(/count_by=event_date/);
  await expect(page.getByTestId('ads-period')).toBeVisible();
  await expect(page.getByText('could not be loaded')).toHaveCount(0);
});

test('the Ads view takes chosen days, a time zone and a channel, keeping its toggles', async ({ page, request }) => {
  await page.goto(`/ads?${RANGE}&attribution=last&order=leads`);
  await hydrated(page);
  const form = page.getByTestId('ads-period-form');
  await expect(page.getByTestId('ads-from')).toHaveValue('2026-06-01');
  await expect(page.getByTestId('ads-to')).toHaveValue('2026-06-30');
  // Once hydrated, each change applies at once, as on the Leads page
  // (Apply is the form's way without WASM, and still works).
  await page.getByTestId('ads-from').fill('2026-06-10');
  await expect(page).toHaveURL(/from=2026-06-10.*to=2026-06-30|to=2026-06-30.*from=2026-06-10/);
  await expect(page.getByTestId('ads-period')).toHaveText('10 Jun 2026 – 30 Jun 2026');
  // A To before From moves From with it.
  await page.getByTestId('ads-to').fill('2026-06-05');
  await expect(page.getByTestId('ads-period')).toHaveText('5 Jun 2026 – 5 Jun 2026');
  await page.getByTestId('ads-from').fill('2026-06-01');
  await expect(page.getByTestId('ads-from')).toHaveValue('2026-06-01');
  await page.getByTestId('ads-to').fill('2026-06-11');
  await expect(page.getByTestId('ads-period')).toHaveText('1 Jun 2026 – 11 Jun 2026');
  await page.getByTestId('ads-from').fill('2026-06-10');
  await expect(page.getByTestId('ads-period')).toHaveText('10 Jun 2026 – 11 Jun 2026');
  await page.getByTestId('ads-tz').selectOption('Asia/Jakarta');
  await expect(page).toHaveURL(/tz=Asia%2FJakarta/);
  await page.getByTestId('ads-channel').selectOption('whatsapp');
  await expect(page).toHaveURL(/channel=whatsapp/);
  await expect(page.getByTestId('ads-channel')).toHaveValue('whatsapp');
  await form.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/from=2026-06-10/);
  for (const kept of [/to=2026-06-11/, /attribution=last/, /order=leads/, /channel=whatsapp/, /tz=Asia%2FJakarta/]) {
    await expect(page).toHaveURL(kept);
  }
  await expect(page.getByTestId('ads-period')).toHaveText('10 Jun 2026 – 11 Jun 2026');
  const { api } = await agrees(page, request,
    'from=2026-06-10&to=2026-06-11&tz=Asia%2FJakarta&channel=whatsapp&attribution=last');
  expect(api.total.leads).toBe(4);
  await expect(page.getByTestId('ads-channel')).toHaveValue('whatsapp');
  // A preset drops the chosen days and keeps the channel.
  await page.locator('.presets a[data-preset="30d"]').click();
  await expect(page).toHaveURL(/range=30d/);
  await expect(page).not.toHaveURL(/from=/);
  await expect(page).toHaveURL(/channel=whatsapp/);
});

test('the Ads view fits 375 px and reads in Indonesian', async ({ page, request }) => {
  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto(`/ads?${RANGE}`);
  await hydrated(page);
  await agrees(page, request, RANGE);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  await page.screenshot({ path: `${shots}/21-ads-375.png`, fullPage: true });

  await switchLanguage(page, 'id');
  await expect(page.locator('th[data-col=spend]')).toContainText('Biaya iklan');
  await expect(page.locator('tr[data-source=none] th')).toHaveText('Organik');
  await expect(page.locator('tr[data-source="ad-jun-1"] td').first()).toHaveText('Rp 110.000');
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  await page.screenshot({ path: `${shots}/22-ads-375-id.png`, fullPage: true });
});
