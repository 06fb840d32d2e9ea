/**
 * The example's two organisations and their people: every user belongs to one tenant, and the
 * tracker stamps each row with it (getTenantId), so each organisation's auditors see only theirs.
 */
export const DEMO_USERNAME = 'demo';
export const DEMO_PASSWORD = 'demo-password';

export interface ExampleUser {
  id: string;
  /** The user's organisation; null for the platform's operator, who belongs to none and reads every one. */
  tenantId: string | null;
}

/**
 * Username → password and tenant. `demo` is Acme's, `grace` is Globex's; both may approve their own
 * organisation's requests and audit their own organisation's trail. `ops` runs the platform: it
 * audits every organisation (the report role system_admin) and submits nothing.
 */
export const EXAMPLE_USERS: Readonly<Record<string, { password: string; tenantId: string | null }>> = {
  [DEMO_USERNAME]: { password: DEMO_PASSWORD, tenantId: 'acme' },
  grace: { password: 'grace-password', tenantId: 'globex' },
  ops: { password: 'ops-password', tenantId: null },
};

export function tenantOfUser(userId: string): string | null {
  return EXAMPLE_USERS[userId]?.tenantId ?? null;
}

/** The tracker's getTenantId: the signed-in user's organisation. */
export function exampleTenantOf(req: { user?: unknown }): string | null {
  const user = req.user as ExampleUser | undefined;
  return user ? user.tenantId : null;
}
