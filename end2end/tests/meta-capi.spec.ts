import { test, expect, Page } from '@playwright/test';
import { createHmac } from 'node:crypto';
import { auth, hydrated, row } from './helpers';

// The Conversions API as people see it: the lead detail's click and each
// outcome's state, the capi filter, the closing-soon card, and the settings
// page's test event, against the Graph API stand-in the config starts
// (graph-standin.mjs). Leads are dated 30 hours to 7 days ago: inside the
// last 7 days, never today (live.spec counts today's leads); the file runs
// after leads.spec and live.spec (file order), whose fixed months they could
// fall into.

const shots = process.env.E2E_SCREENSHOTS ?? 'screenshots';
const graph = `http://127.0.0.1:${process.env.E2E_GRAPH_PORT ?? 3118}`;
const H = 3600;

/** A Click-to-WhatsApp message `secs` ago, signed as Meta signs it. */
function ctwa(phone: string, name: string, clid: string, id: string, secsAgo: number) {
  const ts = Math.floor(Date.now() / 1000) - secsAgo;
  const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: 'WABA-E2E', changes: [{
    field: 'messages', value: { messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550001111', phone_number_id: '1' },
      contacts: [{ profile: { name }, wa_id: phone }],
      messages: [{ from: phone, id, timestamp: String(ts), type: 'text', text: { body: 'Halo, masih ada?' },
        referral: { source_url: 'https://fb.me/e2e', source_id: 'AD-E2E-1', source_type: 'ad',
          headline: 'Kopi E2E', ctwa_clid: clid } }] } }] }] });
  const signature = 'sha256=' + createHmac('sha256', 'e2e-whatsapp-secret').update(body).digest('hex');
  return { headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, data: body };
}

const ago = (secs: number) => new Date(Date.now() - secs * 1000).toISOString();

test.beforeAll(async ({ request }) => {
  // Sent: an ad lead that engaged. Rejected: the same, with a click id
  // the stand-in refuses. Closing: clicked 6 days 22 hours ago, nothing
  // to send yet. Organic: bought, but came from no ad.
  for (const [phone, name, clid, secs] of [
    ['6287710000001', 'Capi Sent', 'CLID-E2E-1', 30 * H],
    ['6287710000002', 'Capi Rejected', 'CLID-REJECT', 32 * H],
    ['6287710000003', 'Capi Closing', 'CLID-E2E-3', 7 * 24 * H - 2 * H],
  ] as const) {
    const r = await request.post('/webhooks/whatsapp', ctwa(phone, name, clid, `wamid.capi-${phone}`, secs));
    expect(r.status(), await r.text()).toBe(200);
  }
  const engaging = (phone: string, secs: number): object[] => [
    { id: `capi-r-${phone}`, occurred_at: ago(secs - 60), channel: 'whatsapp', direction: 'outbound',
      sender: 'agent', contact: { phone } },
    { id: `capi-m-${phone}`, occurred_at: ago(secs - 120), channel: 'whatsapp', direction: 'inbound',
      contact: { phone } },
  ];
  const organic = [
    { id: 'capi-org-in', occurred_at: ago(34 * H), channel: 'whatsapp', direction: 'inbound',
      contact: { phone: '+6287710000004', name: 'Capi Organic' } },
    { id: 'capi-org-buy', kind: 'conversion', occurred_at: ago(33 * H), contact: { phone: '+6287710000004' },
      conversion: { type: 'purchase', value: '99000', currency: 'IDR' } },
  ];
  // Meta's refusal of a request rejects every event in it, so the lead to
  // be sent and the lead to be rejected never share one: each engages once
  // Meta's answer about the one before is in (the sender posts on its own).
  const batches: [string, object[], string][] = [
    ['+6287710000001', [...engaging('+6287710000001', 30 * H), ...organic], 'sent'],
    ['+6287710000002', engaging('+6287710000002', 32 * H), 'rejected'],
  ];
  for (const [phone, events, state] of batches) {
    const r = await request.post('/api/v1/events', { headers: auth, data: events });
    expect(r.status(), await r.text()).toBe(200);
    await expect
      .poll(async () => {
        const d = await (await request.get(`/api/v1/leads/${encodeURIComponent(phone)}`, { headers: auth })).json();
        return d.capi?.events?.[0]?.state;
      }, { timeout: 20_000 })
      .toBe(state);
  }
});

async function english(page: Page) {
  await page.goto('/lang/en');
}

test('the lead detail shows the click, the window and what Meta was told; the filter and closing soon', async ({ page }) => {
  await english(page);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto('/?range=7d&lead=%2B6287710000001');
  await hydrated(page);
  const capi = page.getByTestId('detail').getByTestId('capi');
  await expect(capi.getByTestId('capi-click')).toContainText('CLID-E2E-1');
  await expect(capi.getByTestId('capi-sendable')).toHaveText('yes');
  await expect(capi.getByTestId('capi-window')).toContainText(/\(in \d+ d/);
  const sent = capi.locator('li[data-event=LeadSubmitted]');
  await expect(sent).toHaveAttribute('data-state', 'sent');
  await expect(sent.locator('.capi-state')).toContainText(/^Sent \d+ \w+ \d{4}/);
  await page.screenshot({ path: `${shots}/30-capi-detail-1440.png` });

  // Rejected: Meta's own message.
  await page.goto('/?range=7d&lead=%2B6287710000002');
  await expect(page.getByTestId('detail').locator('li[data-event=LeadSubmitted] .capi-state'))
    .toHaveText('Rejected: Invalid parameter: ctwa_clid is not valid (e2e)');
  // Not from an ad: not sendable, and why.
  await page.goto('/?range=7d&lead=%2B6287710000004');
  const organic = page.getByTestId('detail').getByTestId('capi');
  await expect(organic.getByTestId('capi-sendable')).toHaveText('no: not from a Meta ad click');
  await expect(organic.locator('li[data-event=Purchase] .capi-state'))
    .toHaveText('Not sendable: not from a Meta ad click');

  // The filter: only the rejected lead, and the URL says so.
  await page.goto('/?range=7d');
  await hydrated(page);
  await page.getByTestId('capi').selectOption('rejected');
  await expect(page).toHaveURL(/capi=rejected/);
  await expect(row(page, 'Capi Rejected')).toHaveCount(1);
  await expect(row(page, 'Capi Sent')).toHaveCount(0);
  await page.getByTestId('reset').click();
  await expect(page).not.toHaveURL(/capi=/);

  // Closing soon: the lead whose window ends in about two hours, opened
  // from the card.
  const card = page.getByTestId('closing-soon');
  await expect(card).toContainText('Capi Closing');
  await expect(card).not.toContainText('Capi Sent');
  await card.getByRole('link', { name: 'Capi Closing' }).click();
  await expect(page).toHaveURL(/lead=%2B6287710000003/);
  await expect(page.getByTestId('detail').getByTestId('capi-window')).toContainText(/\(in (1 h|2 h|\d+ min)/);

  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto('/?range=7d&lead=%2B6287710000001');
  await expect(page.getByTestId('detail').getByTestId('capi')).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  await page.getByTestId('detail').getByTestId('capi').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${shots}/31-capi-detail-375.png` });
  await page.goto('/?range=7d');
  await hydrated(page);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  await page.getByTestId('closing-soon').screenshot({ path: `${shots}/31-closing-soon-375.png` });
});

test('the Ads view filters by what Meta was told', async ({ page }) => {
  await english(page);
  await page.goto('/ads?range=7d');
  await hydrated(page);
  await page.getByTestId('ads-capi').getByRole('link', { name: 'Sent', exact: true }).click();
  await expect(page).toHaveURL(/capi=sent/);
  await expect(page.locator('[data-testid=ads-capi] a[data-capi=sent]')).toHaveAttribute('aria-current', 'true');
});

test('settings: the dataset, the token as set, counts, and a test event', async ({ page, request }) => {
  await english(page);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto('/settings');
  const section = page.getByTestId('capi-settings');
  await expect(section.getByTestId('capi-dataset')).toHaveText('e2e-dataset-1');
  await expect(section.getByTestId('capi-token')).toHaveText('set (never shown)');
  await expect(section.getByTestId('capi-counts')).toContainText(/\d+ sent · \d+ pending · \d+ rejected/);
  await expect(section.getByTestId('capi-unsent')).toContainText(/\d+ not sendable · \d+ window passed/);
  expect(await page.content()).not.toContain('e2e-capi-token-never-shown');
  const before = (await (await request.get(`${graph}/got`)).json()).length;
  await section.getByTestId('capi-test').click();
  // The answer comes back at the section.
  await expect(page).toHaveURL(/\/settings\/capi\/test#capi$/);
  await expect(page.getByTestId('capi-test-result')).toHaveText(
    'Meta received the test event (events_received: 1). Check Test events in Events Manager.');
  const got = await (await request.get(`${graph}/got`)).json();
  expect(got.length).toBe(before + 1);
  expect(got[got.length - 1].test_event_code).toBe('TEST-E2E');
  await expect(page.getByTestId('capi-last-success')).not.toHaveText('never');
  expect(await page.content()).not.toContain('e2e-capi-token-never-shown');
  await page.screenshot({ path: `${shots}/32-capi-settings-1440.png` });
  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto('/settings#capi');
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  await page.getByTestId('capi-settings').screenshot({ path: `${shots}/33-capi-settings-375.png` });
  // Indonesian too.
  await page.goto('/lang/id');
  await page.goto('/settings#capi');
  await expect(page.getByTestId('capi-token')).toHaveText('terpasang (tidak ditampilkan)');
  await page.getByTestId('capi-settings').screenshot({ path: `${shots}/34-capi-settings-375-id.png` });
  // The channel intake card keeps its padding: its table scrolls inside it.
  const intake = page.getByTestId('intake');
  expect(await intake.evaluate((e) => e.scrollWidth <= e.clientWidth)).toBe(true);
  await expect(intake.locator('tbody tr').first().locator('td').nth(3)).not.toHaveText('');
  await intake.screenshot({ path: `${shots}/35-intake-375-id.png` });
});
