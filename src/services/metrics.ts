// SPDX-License-Identifier: Apache-2.0
// Prometheus metrics in the text exposition format 0.0.4 (prometheus.io/docs/instrumenting/
// exposition_formats): request counts and a latency histogram per route, plus gauges that plugins
// register (tree size, pending entries). Labels come from route patterns, never from raw URLs, so
// an attacker cannot grow the label set.

/** Latency histogram bucket bounds, seconds. */
export const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface RouteStats {
  count: Map<number, number>;
  buckets: number[];
  sum: number;
  n: number;
}

const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

export class Metrics {
  private readonly routes = new Map<string, RouteStats>();
  private readonly gauges: { name: string; help: string; read: () => number | Promise<number> }[] = [];
  private readonly counters = new Map<string, { help: string; value: number }>();

  /** Records one request (route is the pattern, e.g. `/api/v1/log/entries/:uuid`). */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route}`;
    let s = this.routes.get(key);
    if (!s) {
      s = { count: new Map(), buckets: LATENCY_BUCKETS.map(() => 0), sum: 0, n: 0 };
      this.routes.set(key, s);
    }
    s.count.set(status, (s.count.get(status) ?? 0) + 1);
    LATENCY_BUCKETS.forEach((b, i) => {
      if (seconds <= b) s.buckets[i]!++;
    });
    s.sum += seconds;
    s.n++;
  }

  /** Registers a gauge read at scrape time. */
  gauge(name: string, help: string, read: () => number | Promise<number>): void {
    this.gauges.push({ name, help, read });
  }

  /** Adds to a counter (created at 0). */
  inc(name: string, help: string, by = 1): void {
    const c = this.counters.get(name) ?? { help, value: 0 };
    c.value += by;
    this.counters.set(name, c);
  }

  async render(): Promise<string> {
    const out: string[] = [];
    out.push("# HELP cairn_http_requests_total HTTP requests by route, method and status.");
    out.push("# TYPE cairn_http_requests_total counter");
    for (const [key, s] of this.routes) {
      const [method, route] = key.split(" ", 2) as [string, string];
      for (const [status, n] of s.count) {
        out.push(
          `cairn_http_requests_total{method="${esc(method)}",route="${esc(route)}",status="${status}"} ${n}`,
        );
      }
    }
    out.push("# HELP cairn_http_request_duration_seconds HTTP request latency by route and method.");
    out.push("# TYPE cairn_http_request_duration_seconds histogram");
    for (const [key, s] of this.routes) {
      const [method, route] = key.split(" ", 2) as [string, string];
      const l = `method="${esc(method)}",route="${esc(route)}"`;
      LATENCY_BUCKETS.forEach((b, i) => {
        out.push(`cairn_http_request_duration_seconds_bucket{${l},le="${b}"} ${s.buckets[i]}`);
      });
      out.push(`cairn_http_request_duration_seconds_bucket{${l},le="+Inf"} ${s.n}`);
      out.push(`cairn_http_request_duration_seconds_sum{${l}} ${s.sum}`);
      out.push(`cairn_http_request_duration_seconds_count{${l}} ${s.n}`);
    }
    for (const [name, c] of this.counters) {
      out.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`, `${name} ${c.value}`);
    }
    for (const g of this.gauges) {
      let v: number;
      try {
        v = await g.read();
      } catch {
        v = Number.NaN;
      }
      out.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`, `${g.name} ${v}`);
    }
    return `${out.join("\n")}\n`;
  }
}
