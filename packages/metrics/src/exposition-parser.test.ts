import { describe, expect, it } from 'vitest';
import { Counter, Gauge, Histogram, Registry, Summary, type OpenMetricsContentType } from 'prom-client';
import { isBatonError } from '@baton/lifecycle';
import { parsePrometheusText, type MetricFamily } from './exposition-parser.js';

function parseError(text: string): string {
  try {
    parsePrometheusText(text);
  } catch (error) {
    expect(isBatonError(error, 'BATON_ERR_METRICS_PARSE')).toBe(true);
    return (error as Error).message;
  }
  throw new Error(`parsed without error: ${JSON.stringify(text)}`);
}

function familiesByName(families: MetricFamily[]): Record<string, MetricFamily> {
  return Object.fromEntries(families.map((f) => [f.name, f]));
}

describe('parsePrometheusText on prom-client output', () => {
  it('reads every metric type, escaped and unicode label values, NaN and infinities exactly', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ app: 'orders' });
    const tricky = 'say "hi"\\back\nslash ünïcødé ✓';
    const counter = new Counter({
      name: 'http_requests_total',
      help: 'Requests "served" \\ per\nroute',
      labelNames: ['route', 'note'],
      registers: [registry],
    });
    counter.inc({ route: '/orders/:id', note: tricky }, 3);
    counter.inc({ route: '/', note: '' });
    const gauge = new Gauge({ name: 'queue_depth', help: 'Depth', labelNames: ['k'], registers: [registry] });
    gauge.set({ k: 'nan' }, Number.NaN);
    gauge.set({ k: 'inf' }, Number.POSITIVE_INFINITY);
    gauge.set({ k: 'ninf' }, Number.NEGATIVE_INFINITY);
    gauge.set({ k: 'tiny' }, 1.5e-7);
    gauge.set({ k: 'neg' }, -42.25);
    const histogram = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Duration',
      buckets: [0.05, 0.25, 1],
      labelNames: ['status_code'],
      registers: [registry],
    });
    for (const v of [0.01, 0.1, 0.2, 0.5, 2]) histogram.observe({ status_code: '200' }, v);
    const summary = new Summary({ name: 'job_seconds', help: 'Jobs', percentiles: [0.5, 0.9], registers: [registry] });
    summary.observe(1);
    summary.observe(2);

    const families = parsePrometheusText(await registry.metrics());

    expect(families).toEqual([
      {
        name: 'http_requests_total',
        help: 'Requests "served" \\ per\nroute',
        type: 'counter',
        samples: [
          { name: 'http_requests_total', labels: { route: '/orders/:id', note: tricky, app: 'orders' }, value: 3 },
          { name: 'http_requests_total', labels: { route: '/', note: '', app: 'orders' }, value: 1 },
        ],
      },
      {
        name: 'queue_depth',
        help: 'Depth',
        type: 'gauge',
        samples: [
          { name: 'queue_depth', labels: { k: 'nan', app: 'orders' }, value: Number.NaN },
          { name: 'queue_depth', labels: { k: 'inf', app: 'orders' }, value: Number.POSITIVE_INFINITY },
          { name: 'queue_depth', labels: { k: 'ninf', app: 'orders' }, value: Number.NEGATIVE_INFINITY },
          { name: 'queue_depth', labels: { k: 'tiny', app: 'orders' }, value: 1.5e-7 },
          { name: 'queue_depth', labels: { k: 'neg', app: 'orders' }, value: -42.25 },
        ],
      },
      {
        name: 'http_request_duration_seconds',
        help: 'Duration',
        type: 'histogram',
        samples: [
          { name: 'http_request_duration_seconds_bucket', labels: { le: '0.05', app: 'orders', status_code: '200' }, value: 1 },
          { name: 'http_request_duration_seconds_bucket', labels: { le: '0.25', app: 'orders', status_code: '200' }, value: 3 },
          { name: 'http_request_duration_seconds_bucket', labels: { le: '1', app: 'orders', status_code: '200' }, value: 4 },
          { name: 'http_request_duration_seconds_bucket', labels: { le: '+Inf', app: 'orders', status_code: '200' }, value: 5 },
          { name: 'http_request_duration_seconds_sum', labels: { app: 'orders', status_code: '200' }, value: 2.81 },
          { name: 'http_request_duration_seconds_count', labels: { app: 'orders', status_code: '200' }, value: 5 },
        ],
      },
      {
        name: 'job_seconds',
        help: 'Jobs',
        type: 'summary',
        samples: [
          { name: 'job_seconds', labels: { quantile: '0.5', app: 'orders' }, value: 1.5 },
          { name: 'job_seconds', labels: { quantile: '0.9', app: 'orders' }, value: 2 },
          { name: 'job_seconds_sum', labels: { app: 'orders' }, value: 3 },
          { name: 'job_seconds_count', labels: { app: 'orders' }, value: 2 },
        ],
      },
    ]);
  });

  it('reads the OpenMetrics output: counters announced without _total, exemplars dropped, # EOF', async () => {
    // prom-client's types lack the constructor's content-type argument; setContentType is the typed way.
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    // Typed loosely because prom-client types exemplar labels as the metric's own label names.
    const exemplar: Record<string, string> = { traceId: 'abc' };
    const counter = new Counter({
      name: 'http_requests_total',
      help: 'Requests',
      labelNames: ['release', 'status_code'],
      registers: [registry],
      enableExemplars: true,
    });
    counter.inc({ labels: { release: 'v2', status_code: '503' }, value: 2, exemplarLabels: exemplar });
    const histogram = new Histogram({ name: 'latency_seconds', help: 'Latency', buckets: [0.1, 1], registers: [registry], enableExemplars: true });
    histogram.observe({ value: 0.05, exemplarLabels: { traceId: 'def' } });
    const text = await registry.metrics();
    expect(text).toMatch(/# \{traceId="abc"\}/); // the output really carries exemplars
    expect(text.trimEnd().endsWith('# EOF')).toBe(true);

    expect(parsePrometheusText(text)).toEqual([
      {
        name: 'http_requests',
        help: 'Requests',
        type: 'counter',
        samples: [{ name: 'http_requests_total', labels: { release: 'v2', status_code: '503' }, value: 2 }],
      },
      {
        name: 'latency_seconds',
        help: 'Latency',
        type: 'histogram',
        samples: [
          { name: 'latency_seconds_bucket', labels: { le: '0.1' }, value: 1 },
          { name: 'latency_seconds_bucket', labels: { le: '1' }, value: 1 },
          { name: 'latency_seconds_bucket', labels: { le: '+Inf' }, value: 1 },
          { name: 'latency_seconds_sum', labels: {}, value: 0.05 },
          { name: 'latency_seconds_count', labels: {}, value: 1 },
        ],
      },
    ]);
  });
});

describe('parsePrometheusText on hand-written text', () => {
  it('reads OpenMetrics _created, UNIT, info, stateset, and timestamps in seconds', () => {
    const text = [
      '# TYPE jobs counter',
      '# UNIT jobs seconds',
      '# HELP jobs Jobs \\"done\\"',
      'jobs_total 7 1700000000.5',
      'jobs_created 1699999000',
      '# TYPE build info',
      'build_info{version="1.2.3"} 1',
      '# TYPE feature stateset',
      'feature{feature="a"} 1',
      'feature{feature="b"} 0',
      '# EOF',
      '',
    ].join('\n');
    const families = familiesByName(parsePrometheusText(text));
    expect(families.jobs).toEqual({
      name: 'jobs',
      help: 'Jobs "done"',
      type: 'counter',
      samples: [
        { name: 'jobs_total', labels: {}, value: 7, timestampMs: 1_700_000_000_500 },
        { name: 'jobs_created', labels: {}, value: 1_699_999_000 },
      ],
    });
    expect(families.build).toMatchObject({ type: 'info', samples: [{ name: 'build_info', labels: { version: '1.2.3' }, value: 1 }] });
    expect(families.feature?.samples.map((s) => [s.labels.feature, s.value])).toEqual([
      ['a', 1],
      ['b', 0],
    ]);
  });

  it('groups samples by the announced family and its type, the rest as their own untyped families', () => {
    const text = [
      '# comment lines and blank lines are ignored',
      '',
      'lonely 1',
      '# HELP g A gauge',
      '# TYPE g gauge',
      'g 2',
      'g_sum 3', // a gauge owns no _sum: its own family
      '# TYPE h histogram',
      'h_bucket{le="+Inf"} 4',
      'h_count 4',
      'h_total 1', // a histogram owns no _total
      'lonely{a="b"} 5', // interleaved: back to the family it already has
      '#TYPE notakeyword counter',
      '  spaced   {  a = "1" , b="2", }   6   1234567890123  ',
    ].join('\r\n');
    const families = parsePrometheusText(text);
    expect(families.map((f) => [f.name, f.type, f.samples.length])).toEqual([
      ['lonely', 'untyped', 2],
      ['g', 'gauge', 1],
      ['g_sum', 'untyped', 1],
      ['h', 'histogram', 2],
      ['h_total', 'untyped', 1],
      ['spaced', 'untyped', 1],
    ]);
    expect(families[5]?.samples[0]).toEqual({ name: 'spaced', labels: { a: '1', b: '2' }, value: 6, timestampMs: 1_234_567_890_123 });
  });

  it('reads every number form Prometheus accepts', () => {
    const values = ['1', '-1.5', '+2', '.5', '5.', '1e3', '1.5E-3', '-0', 'NaN', 'nan', 'Nan', '+Inf', '-Inf', 'Inf', '+inf'];
    const text = values.map((v, i) => `m{i="${i}"} ${v}`).join('\n');
    const got = parsePrometheusText(text)[0]?.samples.map((s) => s.value);
    expect(got).toEqual([1, -1.5, 2, 0.5, 5, 1000, 0.0015, -0, Number.NaN, Number.NaN, Number.NaN, Infinity, -Infinity, Infinity, Infinity]);
  });

  it('keeps label names like __proto__ as plain data, and inherits nothing', () => {
    const [family] = parsePrometheusText('m{__proto__="x",constructor="y"} 1');
    expect(family?.samples[0]?.labels.__proto__).toBe('x');
    expect(Object.keys(family?.samples[0]?.labels ?? {})).toEqual(['__proto__', 'constructor']);
    const [plain] = parsePrometheusText('m{a="b"} 1\nm 2');
    expect(plain?.samples.map((s) => s.labels.constructor)).toEqual([undefined, undefined]);
    expect(plain?.samples.map((s) => s.labels.toString)).toEqual([undefined, undefined]);
  });

  it('returns no families for an empty text', () => {
    expect(parsePrometheusText('')).toEqual([]);
    expect(parsePrometheusText('\n\n# just a comment\n')).toEqual([]);
  });

  it('parses a large scrape', () => {
    const lines = ['# TYPE http_requests_total counter'];
    for (let i = 0; i < 20_000; i += 1) lines.push(`http_requests_total{route="/r/${i}",status_code="200"} ${i}`);
    const [family] = parsePrometheusText(lines.join('\n'));
    expect(family?.samples).toHaveLength(20_000);
    expect(family?.samples[19_999]).toEqual({ name: 'http_requests_total', labels: { route: '/r/19999', status_code: '200' }, value: 19_999 });
  });
});

describe('parsePrometheusText on bad input', () => {
  const ok = '# TYPE ok gauge\nok 1\n';
  const cases: [string, string, string][] = [
    ['value not a number', `${ok}m{a="b"} abc`, 'line 3: expected a number after the labels, got "abc"'],
    ['value not a number, no labels', `${ok}m 1,5`, 'line 3: expected a number after the metric name, got "1,5"'],
    ['hex is not a Prometheus number', 'm 0x10', 'line 1: expected a number after the metric name, got "0x10"'],
    ['no value', `${ok}m{a="b"}`, 'line 3: expected a value after the labels of m'],
    ['no value, no labels', 'm', 'line 1: expected a value after the metric name of m'],
    ['bad metric name', 'm-x 1', 'line 1: expected a blank or "{" after the metric name m'],
    ['name starting with a digit', '1m 1', 'line 1: expected a metric name, got "1m"'],
    ['labels not closed', 'm{a="b" 1', 'line 1: expected "," or "}" after the value of the label a'],
    ['labels cut off', 'm{a="b",', 'line 1: the labels of m are not closed with "}"'],
    ['label value not closed', 'm{a="b} 1', 'line 1: the value of the label a is not closed with a quote'],
    ['label value unquoted', 'm{a=b} 1', 'line 1: expected a quoted value for the label a'],
    ['no = after label name', 'm{a"b"} 1', 'line 1: expected "=" after the label name a'],
    ['empty label name', 'm{="b"} 1', 'line 1: expected a label name or "}" in the labels of m'],
    ['label name with a colon', 'm{a:b="c"} 1', 'line 1: expected "=" after the label name a'],
    ['duplicate label', 'm{a="1",a="2"} 1', 'line 1: the label a appears twice in m'],
    ['float timestamp in 0.0.4', 'm 1 1.5', 'line 1: expected a timestamp (integer milliseconds) after the value, got "1.5"'],
    ['text after the timestamp', 'm 1 2 3', 'line 1: unexpected "3" after the timestamp'],
    ['unknown type', '# TYPE m countr', 'line 1: unknown type "countr" for m; accepted: counter, gauge'],
    ['TYPE without a type', '# TYPE m', 'line 1: expected a type after "# TYPE m"'],
    ['TYPE without a name', '# TYPE', 'line 1: expected a metric name after "# TYPE"'],
    ['HELP with a bad name', '# HELP 9m help', 'line 1: "9m" is not a metric name'],
    ['UNIT with a bad name', '# TYPE m gauge\n# UNIT m-x seconds', 'line 2: "m-x" is not a metric name'],
    ['second TYPE', `${ok}# TYPE ok counter`, 'line 3: second TYPE line for ok'],
    ['second HELP', '# HELP m a\n# HELP m b', 'line 2: second HELP line for m'],
    ['TYPE after samples', 'm 1\n# TYPE m gauge', 'line 2: the TYPE line for m comes after its samples'],
    ['bucket without le', '# TYPE h histogram\nh_bucket 1', 'line 2: the histogram bucket h_bucket has no "le" label'],
    ['bucket with a bad le', '# TYPE h histogram\nh_bucket{le="big"} 1', 'line 2: the "le" label of h_bucket is "big", not a number'],
    ['summary without quantile', '# TYPE s summary\ns 1', 'line 2: the summary sample s has no "quantile" label'],
    ['text after # EOF', `${ok}# EOF\nm 1\n# EOF\n`, 'line 4: text after "# EOF" (line 3)'],
    ['bad seconds timestamp in OpenMetrics', 'm 1 soon\n# EOF\n', 'line 1: expected a timestamp in seconds after the value, got "soon"'],
  ];
  it.each(cases)('%s', (_what, text, message) => {
    expect(parseError(text)).toContain(message);
    expect(parseError(text)).toMatch(/^line \d+: /);
  });
});
