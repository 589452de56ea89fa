// Replacing one part's section of bench/RESULTS.md (and its rows of the Targets table), so a run of
// that part alone keeps everything else as it is.

/** A `## ` section of a RESULTS.md text (up to the next `## `) and the Targets rows starting with `rowPrefix`. */
export function previousSection(text: string, heading: string, rowPrefix: string): { section: string[]; rows: string[] } | undefined {
  const lines = text.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) return undefined;
  let end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
  if (end < 0) end = lines.length;
  const section = lines.slice(start, end);
  while (section.length > 0 && section[section.length - 1] === '') section.pop();
  section.push('');
  return { section, rows: lines.filter((line) => line.startsWith(rowPrefix)) };
}

/** `text` with the section under `heading` and the Targets rows starting with `rowPrefix` replaced (appended when absent). */
export function spliceSection(text: string, heading: string, rowPrefix: string, section: readonly string[], rows: readonly string[]): string {
  const lines = text.replace(/\n+$/, '').split('\n');
  const start = lines.indexOf(heading);
  if (start >= 0) {
    let end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
    if (end < 0) end = lines.length;
    const replacement = [...section];
    // Keep the blank line before the next section.
    if (end < lines.length && replacement[replacement.length - 1] !== '') replacement.push('');
    lines.splice(start, end - start, ...replacement);
  } else {
    lines.push('', ...section);
  }
  const kept = lines.filter((line) => !line.startsWith(rowPrefix));
  const targets = kept.indexOf('## Targets');
  if (targets >= 0) {
    let last = targets;
    for (let i = targets + 1; i < kept.length; i += 1) {
      const line = kept[i] as string;
      if (line.startsWith('## ')) break;
      if (line.startsWith('|')) last = i;
    }
    if (last > targets) kept.splice(last + 1, 0, ...rows);
  }
  return `${kept.join('\n').replace(/\n+$/, '')}\n`;
}
