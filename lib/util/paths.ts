/** A path without its trailing slash, so `/items/` and `/items` compare equal; `/` stays `/`. */
export function trimSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
