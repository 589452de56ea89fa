import { Document, isMap } from 'yaml';
import type { RenderedManifests, RenderedObject } from './render.js';

/** The first lines of every file: where it came from, and that it is rendered, not written. */
function header(manifests: RenderedManifests): string[] {
  return [
    ` Rendered by \`baton k8s render\` from baton.config: service ${manifests.service}${manifests.environment === undefined ? '' : `, environment ${manifests.environment}`}, release ${manifests.version}.`,
    ' Do not edit: change baton.config and render again.',
  ];
}

function documentOf(object: RenderedObject, extra: string[] = []): Document {
  const document = new Document(object.body);
  document.commentBefore = [...extra, ...object.comments.map((line) => ` ${line}`)].join('\n');
  if (!isMap(document.contents)) throw new Error('a rendered object must be a map');
  return document;
}

/** Every object in one YAML stream, `---` between them, the notes at the top. */
export function toYamlStream(manifests: RenderedManifests): string {
  const top = [...header(manifests), ...manifests.notes.map((note) => ` ${note}`)];
  return manifests.objects.map((object, index) => documentOf(object, index === 0 ? [...top, ''] : []).toString({ lineWidth: 0 })).join('---\n');
}

/** One file per object, `<kind>-<name>.yaml` (lower case), in the order they apply. */
export function toYamlFiles(manifests: RenderedManifests): { file: string; text: string }[] {
  return manifests.objects.map((object) => ({
    file: `${object.kind.toLowerCase()}-${object.name}.yaml`,
    text: documentOf(object, [...header(manifests), ...manifests.notes.map((note) => ` ${note}`), '']).toString({ lineWidth: 0 }),
  }));
}
