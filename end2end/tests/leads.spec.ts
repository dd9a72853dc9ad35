import { test, expect, Page } from '@playwright/test';
import { auth, hydrated } from './helpers';

const shots = process.env.E2E_SCREENSHOTS ?? 'screenshots';

const events = [
  {
    id: 'wamid.e2e-1', occurred_at: '2026-11-20T09:15:03+07:00', channel: 'whatsapp',
    direction: 'inbound', contact: { phone: '0812-3456-7890', name: 'Budi Santoso' },
    source: { platform: 'meta', type: 'ad', id: '120210000000000001',
              name: 'Promo 11.11 Carousel', url: 'https://fb.me/promo1111' },
  },
  {
    id: 'wamid.e2e-2', occurred_at: '2026-11-20T09:15:43+07:00', channel: 'whatsapp',
    direction: 'outbound', sender: 'ai', contact: { phone: '+6281234567890' },
  },
  {
    id: 'ig.e2e-3', occurred_at: '2026-11-18T10:00:00Z', channel: 'instagram',
    direction: 'inbound', contact: { external_id: '17841400000000077', name: 'sari.shop',
                                     email: 'Sari@Example.com' },
  },
  {
    id: 'wamid.e2e-4', occurred_at: '2026-11-05T08:00:00+07:00', channel: 'whatsapp',
    direction: 'inbound', contact: { phone: '+62 813-1111-2222', name: 'Andi' },
    source: { platform: 'meta', id: 'ad-A', name: 'Ramadan Sale' },
  },
  {
    id: 'wamid.e2e-5', occurred_at: '2026-11-06T08:00:00+07:00', channel: 'whatsapp',
    direction: 'inbound', contact: { phone: '081311112222' },
    source: { platform: 'tiktok', id: 'tt-9', name: 'TikTok Live' },
  },
];

function row(page: Page, name: string) {
  return page.locator('table[data-testid=leads-table] tbody tr', { hasText: name });
}

test('leads appear with their seven columns and filters reload the table in place', async ({ page, request }) => {
  const posted = await request.post('/api/v1/events', { headers: auth, data: events });
  expect(posted.status()).toBe(200);
  expect(await posted.json()).toEqual({ accepted: 5, duplicates: 0 });

  await page.goto('/?from=2026-11-01&to=2026-11-30');
  await hydrated(page);
  await page.screenshot({ path: `${shots}/01-leads.png`, fullPage: true });

  const headers = page.locator('table[data-testid=leads-table] thead th');
  await expect(headers).toHaveText([
    'Date', 'Customer Name', 'Phone Number', 'Email', 'First Source', 'First Touched At', 'Last Source',
  ]);
  await expect(page.getByTestId('summary')).toContainText('3 leads');

  // Newest first.
  const names = page.locator('table[data-testid=leads-table] tbody td.name');
  await expect(names).toHaveText(['Budi Santoso', 'sari.shop', 'Andi']);

  const budi = row(page, 'Budi Santoso').locator('td');
  await expect(budi).toHaveText([
    '20 Nov 2026 09:15', 'Budi Santoso', '+62 812-3456-7890', '—',
    /Promo 11\.11 Carousel/, /^20 Nov 2026 09:15\s*40 s$/, '—',
  ]);
  const sari = row(page, 'sari.shop').locator('td');
  // 10:00 UTC is 17:00 in Jakarta.
  await expect(sari).toHaveText([
    '18 Nov 2026 17:00', 'sari.shop', '—', 'Sari@Example.com', 'Organic', /^Awaiting first response\s*waiting \d+ d/, '—',
  ]);
  const andi = row(page, 'Andi').locator('td');
  await expect(andi.nth(4)).toContainText('Ramadan Sale');
  await expect(andi.nth(6)).toContainText('TikTok Live');

  // From here on the page must not reload: a marker on window survives.
  await page.evaluate(() => ((window as any).__sameDocument = true));

  await page.getByTestId('from').fill('2026-11-15');
  await expect(names).toHaveText(['Budi Santoso', 'sari.shop']);
  await expect(page.getByTestId('summary')).toContainText('2 leads');
  await expect(page).toHaveURL(/from=2026-11-15/);
  await page.screenshot({ path: `${shots}/02-date-range.png`, fullPage: true });

  await page.getByTestId('search').fill('0812');
  await expect(names).toHaveText(['Budi Santoso']);
  await page.screenshot({ path: `${shots}/03-search-phone.png`, fullPage: true });

  await page.getByTestId('search').fill('SARI');
  await expect(names).toHaveText(['sari.shop']);

  await page.getByTestId('search').fill('nobody-by-this-name');
  await expect(page.getByTestId('empty')).toBeVisible();
  await page.screenshot({ path: `${shots}/04-empty.png`, fullPage: true });

  await page.getByTestId('search').fill('');
  await page.getByTestId('to').fill('2026-11-19');
  await expect(names).toHaveText(['sari.shop']);

  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
});

test('a late, earlier message shows up after a reload of the data', async ({ page, request }) => {
  const late = [
    { id: 'late-2', occurred_at: '2026-10-10T10:00:00+07:00', channel: 'whatsapp', direction: 'inbound',
      contact: { phone: '0857 0000 1111', name: 'Citra' } },
    { id: 'late-agent', occurred_at: '2026-10-10T09:30:00+07:00', channel: 'whatsapp', direction: 'outbound',
      sender: 'agent', contact: { phone: '0857 0000 1111' } },
  ];
  expect((await request.post('/api/v1/events', { headers: auth, data: late })).status()).toBe(200);
  await page.goto('/?from=2026-10-01&to=2026-10-31');
  await hydrated(page);
  const citra = row(page, 'Citra').locator('td');
  await expect(citra.nth(5)).toContainText('Awaiting first response');

  // The customer's real first message arrives late: the Date moves back and
  // the agent's 09:30 answer becomes the first touch.
  const earlier = { id: 'late-1', occurred_at: '2026-10-10T09:00:00+07:00', channel: 'whatsapp',
    direction: 'inbound', contact: { phone: '+6285700001111' } };
  expect((await request.post('/api/v1/events', { headers: auth, data: earlier })).status()).toBe(200);
  await page.getByTestId('search').fill('citra');
  await expect(citra.nth(0)).toHaveText('10 Oct 2026 09:00');
  await expect(citra.nth(5)).toContainText('10 Oct 2026 09:30');
  await page.screenshot({ path: `${shots}/05-late-event.png`, fullPage: true });
});

test('"Load more" appends the next keyset page', async ({ page, request }) => {
  const many = Array.from({ length: 55 }, (_, i) => ({
    id: `more-${i}`,
    occurred_at: `2026-09-${String(1 + (i % 28)).padStart(2, '0')}T10:${String(i % 60).padStart(2, '0')}:00+07:00`,
    channel: 'whatsapp', direction: 'inbound',
    contact: { phone: `+62821000${String(i).padStart(5, '0')}`, name: `Pelanggan ${i}` },
  }));
  expect((await request.post('/api/v1/events', { headers: auth, data: many })).status()).toBe(200);
  await page.goto('/?from=2026-09-01&to=2026-09-30');
  await hydrated(page);
  const rows = page.locator('table[data-testid=leads-table] tbody tr');
  await expect(rows).toHaveCount(50);
  await expect(page.getByTestId('more')).toContainText('50 of 55');
  await page.getByTestId('more').click();
  await expect(rows).toHaveCount(55);
  await expect(page.getByTestId('more')).toHaveCount(0);
  const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-lead')));
  expect(new Set(ids).size).toBe(55);
  await page.screenshot({ path: `${shots}/06-load-more.png`, fullPage: true });
});
