// An orchestrator in a process of its own, for the platform suite's orphan cases:
// it creates the platform on the given directory, starts one instance, prints
// its record as one JSON line and runs on until the suite SIGKILLs it.
// Argument: JSON { module, exportName, settings, release, id }.
const spec = JSON.parse(process.argv[2] ?? '{}') as { module: string; exportName: string; settings: unknown; release: unknown; id: string };
const loaded = (await import(spec.module)) as Record<string, { create(settings: unknown): { start(release: unknown, options: { id: string }): Promise<unknown> } }>;
const provider = loaded[spec.exportName];
if (provider === undefined) throw new Error(`platform conformance: ${spec.module} exports no ${spec.exportName}`);
const instance = await provider.create(spec.settings).start(spec.release, { id: spec.id });
process.stdout.write(`${JSON.stringify(instance)}\n`);
setInterval(() => {}, 1 << 30);
export {};
