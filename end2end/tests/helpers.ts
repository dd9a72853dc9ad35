import { expect, Page } from '@playwright/test';

// Shared by the browser tests.
export const auth = { Authorization: 'Bearer e2e-api-token-1' };
// The first admin (LEADS_ADMIN_PASSWORD of the server under test) and where
// the signed-in browser state is kept between tests.
export const ADMIN_PASSWORD = 'e2e-admin-password';
export const STATE = 'test-results/.signed-in.json';

export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

/** Switches the language (a full navigation) and waits for the new page's
 * load and hydration: before them its DOM may be there unstyled. */
export async function switchLanguage(page: Page, code: 'id' | 'en') {
  await Promise.all([page.waitForEvent('load'), page.getByTestId(`lang-${code}`).click()]);
  await hydrated(page);
}

/** The table row of the lead whose name is exactly `name`. */
export function row(page: Page, name: string) {
  return page.locator('table[data-testid=leads-table] tbody tr', {
    has: page.locator('td.name', { hasText: new RegExp(`^${name}$`) }),
  });
}

export const summary = (page: Page) => page.getByTestId('summary');
