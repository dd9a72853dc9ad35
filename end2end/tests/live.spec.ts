import { test, expect } from '@playwright/test';
import { createHmac } from 'node:crypto';
import { auth, hydrated, row, summary } from './helpers';

// Runs last (file order): its leads are dated today, inside other tests' ranges.

test('a lead posted through the API appears live', async ({ page, request }) => {
  await page.goto('/?range=today');
  await hydrated(page);
  await expect(page.locator('[data-testid=live].on')).toHaveCount(1);
  await page.evaluate(() => ((window as any).__sameDocument = true));
  const now = new Date();
  const post = (id: string, name: string, phone: string) =>
    request.post('/api/v1/events', { headers: auth, data: [{
      id, occurred_at: now.toISOString(), channel: 'whatsapp', direction: 'inbound',
      contact: { phone, name } }] });
  expect((await post('live-e2e-1', 'Live Budi', '+6289900000001')).status()).toBe(200);
  await expect(row(page, 'Live Budi')).toHaveCount(1, { timeout: 10_000 });
  await expect(page.getByTestId('kpi-leads')).toContainText('1');

  // Behind a filter that hides it, a banner tells instead.
  await page.getByTestId('touched').selectOption('yes');
  await expect(summary(page)).toContainText('0 leads');
  expect((await post('live-e2e-2', 'Live Sari', '+6289900000002')).status()).toBe(200);
  await expect(page.getByTestId('live-banner')).toContainText('1 new lead', { timeout: 10_000 });
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
});

/** A WhatsApp Cloud API delivery, signed as Meta signs it. */
function whatsapp(value: object) {
  const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{
    field: 'messages', value: { messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550001111', phone_number_id: '1' }, ...value } }] }] });
  const signature = 'sha256=' + createHmac('sha256', 'e2e-whatsapp-secret').update(body).digest('hex');
  return { headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, data: body };
}

test('the default view at a bare / takes a webhook lead and its reply live', async ({ page, request }) => {
  const failed: string[] = [];
  page.on('response', (r) => {
    if (r.url().includes('/srv/') && r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
  });
  await page.goto('/');
  await hydrated(page);
  await expect(page.locator('[data-testid=live].on')).toHaveCount(1);
  const from = await page.getByTestId('from').inputValue();
  expect(from).not.toBe('');
  const secs = Math.floor(Date.now() / 1000);
  const message = whatsapp({
    contacts: [{ profile: { name: 'Webhook Wati' }, wa_id: '6289900000003' }],
    messages: [{ from: '6289900000003', id: 'wamid.e2e-live-1', timestamp: String(secs - 60),
      type: 'text', text: { body: 'Halo kak, masih ada?' } }],
  });
  expect((await request.post('/webhooks/whatsapp', message)).status()).toBe(200);
  const lead = row(page, 'Webhook Wati');
  await expect(lead).toHaveCount(1, { timeout: 10_000 });
  await expect(lead.locator('td.first-touched .awaiting')).toHaveCount(1);
  // The reply exists only as a `sent` status (an inbox answering through
  // the API): the lead is answered, live.
  const reply = whatsapp({
    statuses: [{ id: 'wamid.e2e-live-2', status: 'sent', timestamp: String(secs),
      recipient_id: '6289900000003', pricing: { billable: true, category: 'service', type: 'regular' } }],
  });
  expect((await request.post('/webhooks/whatsapp', reply)).status()).toBe(200);
  await expect(lead.locator('td.first-touched .awaiting')).toHaveCount(0, { timeout: 10_000 });
  await expect(page.getByText('Data tidak dapat dimuat')).toHaveCount(0);
  expect(await page.getByTestId('from').inputValue()).toBe(from);
  expect(failed).toEqual([]);
  await page.screenshot({ path: 'screenshots/live-bare-root.png', fullPage: true });
});
