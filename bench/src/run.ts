import { writeFileSync } from 'node:fs';
import { runThroughputBench } from './throughput.js';
import { throughputTable } from './throughput-report.js';

const quick = process.env.BENCH_QUICK === '1' || process.argv.includes('--quick');
const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
const rounds = process.env.BENCH_ROUNDS ? Number(process.env.BENCH_ROUNDS) : undefined;
const result = await runThroughputBench({ quick, ...(only ? { only } : {}), ...(rounds ? { rounds } : {}) });
console.log(throughputTable(result));
if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify(result, null, 2));
