/** A `--` comment of a SQL file: where it starts (string index) and its text after the dashes. */
export interface LineComment {
  index: number;
  text: string;
}

/**
 * Every `--` comment of a SQL file, in order. A small lexer rather than a
 * regular expression: `--` inside a string, a quoted identifier, a
 * dollar-quoted function body or a block comment is not a comment, and a
 * directive found there would silently change what is checked.
 */
export function scanLineComments(text: string): LineComment[] {
  const comments: LineComment[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 45 /* - */ && text.charCodeAt(i + 1) === 45) {
      let end = text.indexOf('\n', i);
      if (end === -1) end = n;
      comments.push({ index: i, text: text.slice(i + 2, end).replace(/\r$/, '') });
      i = end;
    } else if (c === 47 /* / */ && text.charCodeAt(i + 1) === 42 /* * */) {
      i = skipBlockComment(text, i);
    } else if (c === 39 /* ' */) {
      const escapes = i > 0 && (text[i - 1] === 'E' || text[i - 1] === 'e') && !isIdentChar(text.charCodeAt(i - 2));
      i = skipQuoted(text, i, 39, escapes);
    } else if (c === 34 /* " */) {
      i = skipQuoted(text, i, 34, false);
    } else if (c === 36 /* $ */ && !isIdentChar(text.charCodeAt(i - 1))) {
      i = skipDollarQuoted(text, i);
    } else {
      i += 1;
    }
  }
  return comments;
}

/** The first index at or after `index` that is neither whitespace nor a comment. */
export function skipTrivia(text: string, index: number): number {
  let i = index;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12) i += 1;
    else if (c === 45 && text.charCodeAt(i + 1) === 45) {
      const end = text.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
    } else if (c === 47 && text.charCodeAt(i + 1) === 42) i = skipBlockComment(text, i);
    else break;
  }
  return i;
}

function isIdentChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 128;
}

/** Block comments nest in PostgreSQL. */
function skipBlockComment(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    if (text.charCodeAt(i) === 47 && text.charCodeAt(i + 1) === 42) {
      depth += 1;
      i += 2;
    } else if (text.charCodeAt(i) === 42 && text.charCodeAt(i + 1) === 47) {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else i += 1;
  }
  return i;
}

function skipQuoted(text: string, start: number, quote: number, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (backslashEscapes && c === 92) i += 2;
    else if (c === quote) {
      if (text.charCodeAt(i + 1) === quote) i += 2;
      else return i + 1;
    } else i += 1;
  }
  return i;
}

function skipDollarQuoted(text: string, start: number): number {
  const match = /^\$([A-Za-z_\x80-\uffff][\w\x80-\uffff]*)?\$/.exec(text.slice(start, start + 64));
  if (!match) return start + 1;
  const tag = match[0];
  const end = text.indexOf(tag, start + tag.length);
  return end === -1 ? text.length : end + tag.length;
}
