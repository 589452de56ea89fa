import { runThroughputBench } from './throughput.js';
import { throughputTable } from './throughput-report.js';

const quick = process.env.BENCH_QUICK === '1' || process.argv.includes('--quick');
const result = await runThroughputBench({ quick });
console.log(throughputTable(result));
