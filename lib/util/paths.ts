/** A path without its trailing slash, so `/items/` and `/items` compare equal; `/` stays `/`. */
export function trimSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/** A URL component decoded, or as it is when its percent-encoding is malformed (a client can send anything). */
export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
