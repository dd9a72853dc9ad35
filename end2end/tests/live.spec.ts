import { test, expect } from '@playwright/test';
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
