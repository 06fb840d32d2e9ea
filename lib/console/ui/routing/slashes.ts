/**
 * Slashes cut from the ends of a path by a scan, not by /\/+$/: an unanchored run of slashes is
 * matched again from every start position, quadratic in a path of many slashes.
 */
export function withoutTrailingSlashes(text: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === '/') end -= 1;
  return text.slice(0, end);
}

export function withoutEdgeSlashes(text: string): string {
  let start = 0;
  while (start < text.length && text[start] === '/') start += 1;
  return withoutTrailingSlashes(text.slice(start));
}
