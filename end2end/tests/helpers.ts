import { expect, Page } from '@playwright/test';

// Shared by the browser tests.
export const auth = { Authorization: 'Bearer e2e-token' };

export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

/** The table row of the lead whose name is exactly `name`. */
export function row(page: Page, name: string) {
  return page.locator('table[data-testid=leads-table] tbody tr', {
    has: page.locator('td.name', { hasText: new RegExp(`^${name}$`) }),
  });
}

export const summary = (page: Page) => page.getByTestId('summary');
