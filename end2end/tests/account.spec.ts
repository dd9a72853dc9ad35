import { test, expect } from '@playwright/test';
import { ADMIN_PASSWORD, hydrated } from './helpers';

const shots = 'screenshots';

// Its own sign-in (not the shared one): this test signs out at the end.
test.use({ storageState: { cookies: [], origins: [] } });

test('sign in, make an API token on the settings page, sign out', async ({ page, request }) => {
  await page.setViewportSize({ width: 375, height: 740 });
  await page.goto('/signin');
  await page.screenshot({ path: `${shots}/15-signin-375.png` });
  await page.getByTestId('lang-en').click();
  await expect(page.getByRole('heading')).toHaveText('Sign in to Leads Dashboard');
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await hydrated(page);
  // The bar fits 375 px: no horizontal scroll.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  await page.screenshot({ path: `${shots}/15-leads-signed-in-375.png` });

  await page.setViewportSize({ width: 1440, height: 900 });
  await page.getByRole('link', { name: 'Settings' }).click();
  await expect(page.getByRole('heading', { name: 'Settings' })).toBeVisible();
  await page.getByLabel('Token name').fill('crm');
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = (await page.getByTestId('new-token').textContent()) ?? '';
  expect(token).toMatch(/^ld_/);
  // What each intake received and dropped, and a way to set a password.
  await expect(page.getByTestId('intake').locator('tbody tr')).toHaveCount(3);
  await expect(page.getByTestId('set-password')).toBeVisible();
  await page.screenshot({ path: `${shots}/15-settings-1440.png`, fullPage: true });
  const r = await request.get('/api/v1/leads', { headers: { Authorization: `Bearer ${token}` } });
  expect(r.status()).toBe(200);

  await page.getByTestId('signout').click();
  await expect(page).toHaveURL(/\/signin$/);
  await page.goto('/?range=30d');
  await expect(page).toHaveURL(/\/signin\?next=%2F%3Frange%3D30d$/);
});
