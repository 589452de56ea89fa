/** A 1-based line and column; the column counts UTF-16 code units, as editors and SARIF do. */
export interface Position {
  line: number;
  column: number;
}

const ASCII_ONLY = /^[\x00-\x7f]*$/;

/**
 * Line and column lookups for one file. The parser reports UTF-8 byte
 * offsets, JavaScript strings index UTF-16 code units: the two differ as
 * soon as the SQL holds a non-ASCII character (a comment in French, an emoji
 * in a default), so every location goes through here.
 */
export class SourceText {
  readonly text: string;
  readonly #lineStarts: number[];
  /** Byte offset → string index; absent when the text is ASCII and the two agree. */
  readonly #indexOfByte: Uint32Array | undefined;

  constructor(text: string) {
    this.text = text;
    this.#lineStarts = [0];
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.#lineStarts.push(i + 1);
    this.#indexOfByte = ASCII_ONLY.test(text) ? undefined : buildByteMap(text);
  }

  /** String index of a UTF-8 byte offset into the text (clamped to the end). */
  indexOfByte(byteOffset: number): number {
    if (byteOffset <= 0) return 0;
    const map = this.#indexOfByte;
    if (!map) return Math.min(byteOffset, this.text.length);
    return map[Math.min(byteOffset, map.length - 1)] ?? this.text.length;
  }

  /**
   * String index of a 0-based code-point offset. PostgreSQL reports a syntax
   * error's position in characters (not bytes, unlike parse-tree locations);
   * an emoji is one character there and two UTF-16 code units here.
   */
  indexOfCodePoint(offset: number): number {
    if (!this.#indexOfByte) return Math.min(Math.max(offset, 0), this.text.length);
    let index = 0;
    for (let seen = 0; seen < offset && index < this.text.length; seen += 1) {
      const code = this.text.codePointAt(index) ?? 0;
      index += code >= 0x10000 ? 2 : 1;
    }
    return index;
  }

  /** Line and column of a string index. */
  positionOfIndex(index: number): Position {
    const starts = this.#lineStarts;
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((starts[mid] ?? 0) <= index) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: index - (starts[low] ?? 0) + 1 };
  }

  /** Line and column of a UTF-8 byte offset, as the parser reports them. */
  positionOfByte(byteOffset: number): Position {
    return this.positionOfIndex(this.indexOfByte(byteOffset));
  }
}

function buildByteMap(text: string): Uint32Array {
  const map = new Uint32Array(Buffer.byteLength(text, 'utf8') + 1);
  let byte = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.codePointAt(index) ?? 0;
    const width = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    // Every byte of a multi-byte character maps to the character's first code unit.
    for (let k = 0; k < width; k += 1) map[byte + k] = index;
    byte += width;
    if (code >= 0x10000) index += 1;
  }
  map[byte] = text.length;
  return map;
}
