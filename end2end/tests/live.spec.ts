import { test, expect, Page } from '@playwright/test';

// Runs last (file order): its leads are dated today, inside other tests' ranges.
const auth = { Authorization: 'Bearer e2e-token' };

async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

function row(page: Page, name: string) {
  return page.locator('table[data-testid=leads-table] tbody tr', {
    has: page.locator('td.name', { hasText: new RegExp(`^${name}$`) }),
  });
}

const summary = (page: Page) => page.getByTestId('summary');

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
