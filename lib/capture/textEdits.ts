/**
 * A copy of a text with spans replaced, built left to right by the secret scanners; the text itself
 * when nothing was replaced, so the common case allocates nothing.
 */
export class TextEdits {
  private out = '';
  /** Where the text after the last replaced span starts; scanners never look back past it. */
  copied = 0;

  constructor(private readonly text: string) {}

  replace(start: number, end: number, replacement: string): void {
    this.out += this.text.slice(this.copied, start) + replacement;
    this.copied = end;
  }

  result(): string {
    return this.copied === 0 ? this.text : this.out + this.text.slice(this.copied);
  }
}
