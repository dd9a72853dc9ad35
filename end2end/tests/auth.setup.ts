import { test as setup, expect } from '@playwright/test';
import { ADMIN_PASSWORD, STATE } from './helpers';

// Every browser test runs signed in: sign in once through the real form
// (a page asks for it, and comes back after) and keep the session cookie.
setup('sign in through the form', async ({ page }) => {
  await page.goto('/?range=30d');
  await expect(page).toHaveURL(/\/signin\?next=/);
  await page.getByLabel(/User name|Nama pengguna/).fill('admin');
  await page.getByLabel(/Password|Kata sandi/).fill('wrong password');
  await page.getByRole('button', { name: /Sign in|Masuk/ }).click();
  await expect(page.getByTestId('signin-error')).toBeVisible();
  await page.getByLabel(/Password|Kata sandi/).fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: /Sign in|Masuk/ }).click();
  await expect(page).toHaveURL(/\/\?range=30d$/);
  await expect(page.getByTestId('user')).toHaveText('admin');
  await page.context().storageState({ path: STATE });
});
