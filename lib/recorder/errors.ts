/**
 * PostgreSQL SQLSTATE classes that mean "this data is wrong", not "the database is unwell":
 * 22 data exception, 23 integrity constraint violation. Retrying such a batch as it is can never
 * succeed, so the recorder splits it to find the row at fault.
 */
export function isDataError(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^(22|23)[0-9A-Z]{3}$/.test(code);
}
