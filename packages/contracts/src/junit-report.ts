import { writeFile } from 'node:fs/promises';
import type { VerificationResult } from './verification-result.js';

const escape = (text: string) =>
  text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);

/** Renders a verification result as JUnit XML, one test case per interaction. */
export function toJUnitXml(result: VerificationResult, provider: string): string {
  const failures = result.interactions.filter((o) => o.status === 'failed').length;
  const cases = result.interactions.map((o) => {
    const name = escape(`${o.consumer ? `${o.consumer} - ` : ''}${o.description}`);
    const open = `    <testcase classname="${escape(provider)}" name="${name}"`;
    if (o.status === 'passed') return `${open}/>`;
    return `${open}>\n      <failure message="${escape(o.failures[0] ?? 'failed')}">${escape(o.failures.join('\n'))}</failure>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${result.interactions.length}" failures="${failures}">`,
    `  <testsuite name="${escape(`Pact verification: ${provider}`)}" tests="${result.interactions.length}" failures="${failures}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/** Writes {@link toJUnitXml} to a file. */
export async function writeJUnitReport(path: string, result: VerificationResult, provider: string): Promise<void> {
  await writeFile(path, toJUnitXml(result, provider), 'utf8');
}
