/**
 * PostgreSQL SQLSTATE classes that mean "this data is wrong", not "the database is unwell":
 * 22 data exception, 23 integrity constraint violation. Retrying such a batch as it is can never
 * succeed, so the recorder splits it to find the row at fault. A clash on a chain position is the
 * exception: it says two writers raced for the chain head (one of them without the chain lock),
 * not that a row is bad, so that batch is retried whole.
 */
export function isDataError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  if (code === '23505' && constraint === 'user_activity_chain_position_key') return false;
  return typeof code === 'string' && /^(22|23)[0-9A-Z]{3}$/.test(code);
}
