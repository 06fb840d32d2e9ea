/**
 * Rows counted per value of one column, largest first: `{ activityType: 'login', count: 3 }`.
 * `V` is the value's type (null where the column may be empty).
 */
export type Counted<K extends string, V = string> = Array<{ [P in K]: V } & { count: number }>;

/** Failed rows over all rows; 0 when there are none. */
export function errorRate(failures: number, total: number): number {
  return total === 0 ? 0 : failures / total;
}
