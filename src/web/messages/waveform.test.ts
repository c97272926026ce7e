import { describe, expect, it } from "vitest";
import { AttachmentSchema, MAX_WAVEFORM_POINTS } from "@shared/protocol/index.js";
import {
  SILENCE_PEAK,
  WAVEFORM_POINTS,
  barsOf,
  downsamplePeaks,
  normalizeLevels,
  peakOf,
  seekByKey,
  voiceClock,
  voiceWaveform,
} from "./waveform";

describe("peakOf", () => {
  it("is the largest magnitude, negative samples included", () => {
    expect(peakOf(new Float32Array([0.1, -0.75, 0.5]))).toBeCloseTo(0.75);
    expect(peakOf([0, 0, 0])).toBe(0);
    expect(peakOf([])).toBe(0);
  });

  it("never exceeds full scale (a clipped sample can read above 1)", () => {
    expect(peakOf([1.4, -0.2])).toBe(1);
  });
});

describe("downsamplePeaks", () => {
  it("keeps the maximum of each bucket, so a short loud peak survives", () => {
    const peaks = [0.1, 0.1, 0.9, 0.1, 0.2, 0.2, 0.2, 0.3];
    expect(downsamplePeaks(peaks, 4)).toEqual([0.1, 0.9, 0.2, 0.3]);
    expect(downsamplePeaks(peaks, 2)).toEqual([0.9, 0.3]);
  });

  it("covers every peak once when the length does not divide evenly", () => {
    // 10 peaks in 3 buckets: 0-2, 3-5, 6-9.
    const peaks = [1, 0, 0, 0, 2, 0, 0, 0, 0, 3].map((v) => v / 10);
    expect(downsamplePeaks(peaks, 3)).toEqual([0.1, 0.2, 0.3]);
    // Each peak lands in exactly one bucket: a marker anywhere shows up exactly once.
    for (let at = 0; at < 10; at += 1) {
      const marked = new Array<number>(10).fill(0);
      marked[at] = 1;
      expect(downsamplePeaks(marked, 3).filter((v) => v === 1)).toHaveLength(1);
    }
  });

  it("stretches a series shorter than the buckets, in order", () => {
    expect(downsamplePeaks([0.2, 0.8], 4)).toEqual([0.2, 0.2, 0.8, 0.8]);
  });

  it("answers zeros for no peaks and refuses a non-positive count", () => {
    expect(downsamplePeaks([], 3)).toEqual([0, 0, 0]);
    expect(() => downsamplePeaks([0.5], 0)).toThrow(RangeError);
    expect(() => downsamplePeaks([0.5], 2.5)).toThrow(RangeError);
  });
});

describe("normalizeLevels", () => {
  it("scales the loudest peak to 255 and the others in proportion", () => {
    expect(normalizeLevels([0.1, 0.2, 0.05])).toEqual([128, 255, 64]);
  });

  it("keeps silence near the floor instead of blowing its noise up to full height", () => {
    const hiss = [SILENCE_PEAK / 4, SILENCE_PEAK / 2];
    expect(normalizeLevels(hiss)).toEqual([64, 128]);
    expect(normalizeLevels([0, 0])).toEqual([0, 0]);
  });

  it("clamps what is outside 0–1 and ignores what is not a number", () => {
    expect(normalizeLevels([2, -1, Number.NaN, 0.5])).toEqual([255, 0, 0, 128]);
  });
});

describe("voiceWaveform", () => {
  it("gives WAVEFORM_POINTS integer levels 0–255 that the Attachment schema accepts", () => {
    const peaks = Array.from({ length: 537 }, (_, i) => Math.abs(Math.sin(i / 9)) * 0.6);
    const waveform = voiceWaveform(peaks);
    expect(waveform).toHaveLength(WAVEFORM_POINTS);
    expect(WAVEFORM_POINTS).toBeGreaterThanOrEqual(64);
    expect(WAVEFORM_POINTS).toBeLessThanOrEqual(128);
    expect(waveform.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)).toBe(true);
    expect(Math.max(...waveform)).toBe(255);
    const attachment = { id: "a", kind: "audio", mime: "audio/webm", name: "voice-note.webm", size: 1, url: "/x", waveform };
    expect(AttachmentSchema.safeParse(attachment).success).toBe(true);
  });

  it("never asks for more points than the server keeps", () => {
    expect(voiceWaveform([0.5], MAX_WAVEFORM_POINTS * 2)).toHaveLength(MAX_WAVEFORM_POINTS);
  });

  it("is flat zeros for a recording that read no peaks", () => {
    expect(voiceWaveform([], 64)).toEqual(new Array<number>(64).fill(0));
  });
});

describe("barsOf", () => {
  it("folds a stored waveform into the bars a player has room for", () => {
    expect(barsOf([10, 200, 30, 40], 2)).toEqual([200, 40]);
    expect(barsOf(undefined, 3)).toEqual([0, 0, 0]);
    expect(barsOf([], 2)).toEqual([0, 0]);
  });
});

describe("voiceClock", () => {
  it("shows minutes and seconds, rounding down", () => {
    expect(voiceClock(0)).toBe("0:00");
    expect(voiceClock(2_999)).toBe("0:02");
    expect(voiceClock(12_000)).toBe("0:12");
    expect(voiceClock(299_999)).toBe("4:59");
    expect(voiceClock(3_723_000)).toBe("1:02:03");
  });

  it("pads the minutes for the recorder's mm:ss", () => {
    expect(voiceClock(65_000, { padMinutes: true })).toBe("01:05");
    expect(voiceClock(300_000, { padMinutes: true })).toBe("05:00");
  });

  it("shows 0:00 for what is not a duration yet (a negative or infinite value)", () => {
    expect(voiceClock(-5)).toBe("0:00");
    expect(voiceClock(Number.POSITIVE_INFINITY)).toBe("0:00");
  });
});

describe("seekByKey", () => {
  it("steps 1 s in a short note and 5 s in one over a minute", () => {
    expect(seekByKey("ArrowRight", 3_000, 12_000)).toBe(4_000);
    expect(seekByKey("ArrowLeft", 3_000, 12_000)).toBe(2_000);
    expect(seekByKey("ArrowUp", 10_000, 120_000)).toBe(15_000);
    expect(seekByKey("ArrowDown", 10_000, 120_000)).toBe(5_000);
  });

  it("stays within the note", () => {
    expect(seekByKey("ArrowLeft", 500, 12_000)).toBe(0);
    expect(seekByKey("ArrowRight", 11_800, 12_000)).toBe(12_000);
    expect(seekByKey("PageUp", 5_000, 12_000)).toBe(12_000);
    expect(seekByKey("PageDown", 5_000, 12_000)).toBe(0);
  });

  it("goes to the ends with Home and End and leaves other keys alone", () => {
    expect(seekByKey("Home", 7_000, 12_000)).toBe(0);
    expect(seekByKey("End", 7_000, 12_000)).toBe(12_000);
    expect(seekByKey("Enter", 7_000, 12_000)).toBeNull();
    expect(seekByKey("a", 7_000, 12_000)).toBeNull();
  });
});
