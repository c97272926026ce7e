/**
 * A voice note's waveform and clock: pure functions, so the recorder
 * (VoiceRecorder) and the player (VoiceNotePlayer) agree and the rules are
 * unit-tested without a microphone.
 *
 * The waveform is what WhatsApp and Telegram draw under a voice note: one
 * bar per slice of the recording, as tall as the loudest sample of that
 * slice. While recording, the recorder reads the microphone's samples from
 * an AnalyserNode a few times a second and keeps one peak per read
 * (`peakOf`); at the end those peaks are folded into a fixed number of
 * buckets (`downsamplePeaks`) and scaled to 0–255 (`normalizeLevels`), the
 * `waveform` field of POST /api/v1/uploads (Attachment.waveform).
 */
import { MAX_WAVEFORM_POINTS } from "@shared/protocol/index.js";

/** Levels a recorded voice note's waveform has (the plan asks 64–128; the server takes up to MAX_WAVEFORM_POINTS). */
export const WAVEFORM_POINTS = 64;

/**
 * Peaks below this (of full scale, 1.0) are room noise, not a voice: a
 * recording that never rises above it keeps its flat line instead of having
 * its hiss scaled up to full height.
 */
export const SILENCE_PEAK = 0.02;

/** The loudest sample of a block, as a magnitude in [0, 1] (samples are -1…1 floats, as Web Audio gives them). */
export function peakOf(samples: ArrayLike<number>): number {
  let peak = 0;
  for (let i = 0; i < samples.length; i += 1) {
    const magnitude = Math.abs(samples[i]!);
    if (magnitude > peak) peak = magnitude;
  }
  return Math.min(peak, 1);
}

/**
 * Folds a series of peaks into exactly `buckets` values: bucket i covers
 * the peaks from ⌊i·n/buckets⌋ up to ⌊(i+1)·n/buckets⌋ and keeps their
 * maximum (a short loud syllable stays visible, as it would not in an
 * average). A series shorter than `buckets` is stretched: each bucket
 * repeats the peak under it. No peaks: `buckets` zeros.
 * @throws RangeError when `buckets` is not a positive integer.
 */
export function downsamplePeaks(peaks: readonly number[], buckets: number): number[] {
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be a positive integer, not ${buckets}`);
  const n = peaks.length;
  if (n === 0) return new Array<number>(buckets).fill(0);
  const out: number[] = [];
  for (let i = 0; i < buckets; i += 1) {
    const start = Math.floor((i * n) / buckets);
    const end = Math.max(start + 1, Math.floor(((i + 1) * n) / buckets));
    let max = 0;
    for (let j = start; j < end && j < n; j += 1) max = Math.max(max, peaks[j]!);
    out.push(max);
  }
  return out;
}

/**
 * Peaks (0–1) as integer levels 0–255, scaled so the loudest peak is 255:
 * a quiet speaker's note fills the height as a loud one's does. A recording
 * whose loudest peak is under SILENCE_PEAK is scaled as if it reached it
 * (silence stays near the floor). Values outside 0–1 are clamped.
 */
export function normalizeLevels(peaks: readonly number[]): number[] {
  const clamped = peaks.map((p) => (Number.isFinite(p) ? Math.min(Math.max(p, 0), 1) : 0));
  const loudest = Math.max(SILENCE_PEAK, ...clamped);
  return clamped.map((p) => Math.round((p / loudest) * 255));
}

/**
 * The waveform of a recording from the peaks read while it was recorded:
 * `points` levels (default WAVEFORM_POINTS, at most MAX_WAVEFORM_POINTS), each 0–255.
 */
export function voiceWaveform(peaks: readonly number[], points = WAVEFORM_POINTS): number[] {
  return normalizeLevels(downsamplePeaks(peaks, Math.min(points, MAX_WAVEFORM_POINTS)));
}

/**
 * The levels a player draws for `bars` bars from a stored waveform of any
 * length (0–255 each): folded or stretched as `downsamplePeaks` does. A
 * note without a waveform (an upload from elsewhere) draws a low flat line.
 */
export function barsOf(waveform: readonly number[] | undefined, bars: number): number[] {
  if (!waveform || waveform.length === 0) return new Array<number>(bars).fill(0);
  return downsamplePeaks(waveform, bars);
}

/**
 * A duration as a clock: "0:07", "4:59", "1:02:03" (whole seconds, rounded
 * down, so the clock never shows a second not yet reached). With
 * `padMinutes`, two digits of minutes: "00:07" (the recorder's mm:ss).
 */
export function voiceClock(ms: number, options: { padMinutes?: boolean } = {}): string {
  const total = Math.floor(Math.max(0, Number.isFinite(ms) ? ms : 0) / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  if (hours > 0) return `${hours}:${String(minutes).padStart(2, "0")}:${seconds}`;
  return `${options.padMinutes ? String(minutes).padStart(2, "0") : minutes}:${seconds}`;
}

/**
 * Where a key moves a player's position (the slider of WAI-ARIA APG's
 * media seek slider), in ms, kept within 0…duration; null for a key the
 * slider does not handle. Arrows step 1 s in a note of a minute or less and
 * 5 s in longer ones; Page Up/Down 10 s; Home and End go to the ends.
 */
export function seekByKey(key: string, positionMs: number, durationMs: number): number | null {
  const step = durationMs <= 60_000 ? 1000 : 5000;
  const clamp = (ms: number) => Math.min(Math.max(ms, 0), Math.max(durationMs, 0));
  switch (key) {
    case "ArrowRight":
    case "ArrowUp":
      return clamp(positionMs + step);
    case "ArrowLeft":
    case "ArrowDown":
      return clamp(positionMs - step);
    case "PageUp":
      return clamp(positionMs + 10_000);
    case "PageDown":
      return clamp(positionMs - 10_000);
    case "Home":
      return 0;
    case "End":
      return clamp(durationMs);
    default:
      return null;
  }
}
