import * as hdr from "hdr-histogram-js";

/**
 * Latency histograms (HdrHistogram): values are microseconds, 3 significant
 * digits, up to one hour. Workers send them to the coordinator compressed,
 * where they are added up exactly.
 */

export type Histogram = hdr.Histogram;

export function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

export const encodeHistogram = (h: Histogram): string => hdr.encodeIntoCompressedBase64(h);

/** Adds the encoded histograms into one. */
export function mergeHistograms(encoded: string[]): Histogram {
  const total = newHistogram();
  for (const e of encoded) {
    const h = hdr.decodeFromCompressedBase64(e);
    total.add(h);
    h.destroy();
  }
  return total;
}

/** Percentiles in milliseconds (rounded to µs), or nulls when nothing was recorded. */
export interface LatencySummary {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
  mean: number | null;
}

const ms = (us: number): number => Math.round(us) / 1000;

export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, p50: null, p90: null, p99: null, p999: null, max: null, mean: null };
  // A percentile is its bucket's highest equivalent value (within 0.1 %); never report it above the max.
  const at = (p: number) => ms(Math.min(h.getValueAtPercentile(p), h.maxValue));
  return {
    count: h.totalCount,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

/** Summary of raw samples (µs), for the small sequential runs of history and startup. */
export function summarizeSamples(samplesUs: number[]): LatencySummary {
  const h = newHistogram();
  for (const s of samplesUs) h.recordValue(Math.max(1, Math.round(s)));
  const out = summarize(h);
  h.destroy();
  return out;
}
