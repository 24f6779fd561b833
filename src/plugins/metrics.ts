// Prometheus metrics: request durations by route pattern. /metrics answers loopback
// clients, or anyone with METRICS_TOKEN.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { errors } from '../lib/errors.js';
import { safeEqual, sha256 } from '../lib/ids.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
  }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Series = { labels: { method: string; route: string; status_code: string }; counts: number[]; sum: number; count: number };
type Value = { labels: Record<string, string | number>; sharedLabels?: Series['labels']; value: number; metricName: string };

/**
 * A histogram of request durations, exposed exactly as prom-client's Histogram would expose
 * it. prom-client's observe() builds a string from the labels and reads the bucket by the
 * bound's decimal text on every call (several µs a request on a busy server); here a request
 * costs three map lookups and an increment.
 */
function durationHistogram(name: string, help: string) {
  const byRoute = new Map<string, Map<string, Map<number, Series>>>();
  const all: Series[] = [];

  function observe(method: string, route: string, status: number, seconds: number): void {
    let byMethod = byRoute.get(route);
    if (!byMethod) byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (!series) {
      series = { labels: { method, route, status_code: String(status) }, counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      byStatus.set(status, series);
      all.push(series);
    }
    // counts[i]: observations in (BUCKETS[i-1], BUCKETS[i]]; the cumulative buckets are summed when scraped.
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    if (i < BUCKETS.length) series.counts[i]! += 1;
    series.sum += seconds;
    series.count += 1;
  }

  /** prom-client's value list for a histogram: buckets (cumulative), +Inf, sum and count per series. */
  function values(): Value[] {
    const out: Value[] = [];
    for (const s of all) {
      let cumulative = 0;
      for (let i = 0; i < BUCKETS.length; i++) {
        cumulative += s.counts[i]!;
        out.push({ labels: { le: BUCKETS[i]! }, sharedLabels: s.labels, value: cumulative, metricName: `${name}_bucket` });
      }
      out.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: `${name}_bucket` });
      out.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${name}_sum` });
      out.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${name}_count` });
    }
    return out;
  }

  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    /** The text exposition (what prom-client's Registry prints). */
    getForPromString: () => ({ name, help, type: 'histogram', aggregator: 'sum', values: values() }),
    /** The JSON form: shared labels folded into each value's labels, as prom-client does. */
    get: () => ({
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      values: values().map(({ labels, sharedLabels, value, metricName }) => ({ labels: { ...labels, ...sharedLabels }, value, metricName })),
    }),
    reset: () => {
      byRoute.clear();
      all.length = 0;
    },
  };
  return { observe, metric: metric as unknown as Metric };
}

async function metricsPlugin(app: FastifyInstance): Promise<void> {
  const { config } = app.deps;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = durationHistogram('http_request_duration_seconds', 'HTTP request duration by route pattern');
  registry.registerMetric(duration.metric);
  app.decorate('metrics', registry);

  app.addHook('onResponse', (request, reply, done) => {
    duration.observe(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (config.metricsToken) {
      const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
      if (!match || !safeEqual(sha256(match[1]!), sha256(config.metricsToken))) throw errors.unauthorized();
    } else if (!LOOPBACK.has(request.socket.remoteAddress ?? '')) {
      throw errors.notFound('Route');
    }
    reply.type(registry.contentType);
    return registry.metrics();
  });
}

export default fp(metricsPlugin, { name: 'metrics', dependencies: ['deps'] });
