/**
 * Reading a Prometheus text exposition (what Parley's metrics listener
 * serves, prom-client's format): sample lines `name{label="value",…} value
 * [timestamp]`, comments and blank lines skipped. Enough for the harness to
 * take deltas of counters and histograms between two scrapes; not a
 * general client.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the sample lines of an exposition; a malformed line is skipped, not fatal. */
export function parsePromText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const sample = parseLine(line);
    if (sample) out.push(sample);
  }
  return out;
}

function parseLine(line: string): Sample | null {
  let i = 0;
  while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i]!)) i++;
  const name = line.slice(0, i);
  if (name === "") return null;
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    for (;;) {
      while (line[i] === " " || line[i] === ",") i++;
      if (line[i] === "}") {
        i++;
        break;
      }
      const eq = line.indexOf("=", i);
      if (eq < 0 || line[eq + 1] !== '"') return null;
      const key = line.slice(i, eq).trim();
      // Label values escape \\, \" and \n.
      let value = "";
      let j = eq + 2;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === "\\" && j + 1 < line.length) {
          j++;
          value += line[j] === "n" ? "\n" : line[j];
        } else {
          value += line[j];
        }
      }
      if (j >= line.length) return null;
      labels[key] = value;
      i = j + 1;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  const value = parseValue(rest[0] ?? "");
  return value === null ? null : { name, labels, value };
}

function parseValue(s: string): number | null {
  if (s === "+Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  if (s === "NaN") return NaN;
  const v = Number(s);
  return s === "" || Number.isNaN(v) ? null : v;
}

/** One scrape, with look-ups by name and labels. */
export class Scrape {
  constructor(readonly samples: readonly Sample[]) {}

  /** The value of the first sample named `name` whose labels include `match`; null when there is none. */
  value(name: string, match: Record<string, string> = {}): number | null {
    const s = this.samples.find((x) => x.name === name && matches(x.labels, match));
    return s ? s.value : null;
  }

  /**
   * A histogram's cumulative buckets (`<name>_bucket`) for the series whose
   * labels include `match`, ascending by upper bound, +Inf last.
   */
  buckets(name: string, match: Record<string, string> = {}): { le: number; count: number }[] {
    return this.samples
      .filter((x) => x.name === `${name}_bucket` && x.labels.le !== undefined && matches(x.labels, match))
      .map((x) => ({ le: x.labels.le === "+Inf" ? Infinity : Number(x.labels.le), count: x.value }))
      .sort((a, b) => a.le - b.le);
  }
}

function matches(labels: Record<string, string>, match: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(match)) if (labels[k] !== v) return false;
  return true;
}

/** GETs `url` and parses it; null when the server does not answer 200 within `timeoutMs` (metrics off, an old build). */
export async function scrapeMetrics(url: string, timeoutMs = 2_000): Promise<Scrape | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    return res.ok ? new Scrape(parsePromText(text)) : null;
  } catch {
    return null;
  }
}

/**
 * A quantile (0..1) of what a histogram observed between two scrapes, from
 * the growth of its cumulative buckets, interpolated linearly inside the
 * bucket that holds it (as Prometheus' histogram_quantile does): accurate to
 * the width of that bucket. The last finite bound when it falls in +Inf;
 * null when nothing was observed.
 */
export function quantileBetween(before: { le: number; count: number }[], after: { le: number; count: number }[], q: number): number | null {
  const was = new Map(before.map((b) => [b.le, b.count]));
  const delta = after.map((b) => ({ le: b.le, count: b.count - (was.get(b.le) ?? 0) }));
  const total = delta.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of delta) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket <= 0 ? b.le : prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}
