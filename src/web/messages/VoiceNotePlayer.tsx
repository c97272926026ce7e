/**
 * A voice note in a message (an attachment with `voice: true`): a play and
 * pause button, the waveform recorded with it as bars that fill as it
 * plays, and the elapsed time and duration.
 *
 * The waveform is the seek bar: a click (or a tap) on it jumps there, and
 * it is a `slider` for the keyboard and screen readers (WAI-ARIA APG, "Media
 * Seek Slider": arrows step, Page Up/Down jump 10 s, Home/End go to the
 * ends; its value is read as "0:03 of 0:12"). A hidden
 * `<audio preload="metadata">` plays the file: the server answers Range
 * requests with 206, so a seek fetches from there instead of from the start.
 * One voice note plays at a time: starting one pauses the others.
 */
import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent } from "react";
import type { Attachment } from "@shared/protocol/index.js";
import { barsOf, seekByKey, voiceClock } from "./waveform";

/** Bars drawn for a note (its stored waveform is folded or stretched to this many). */
const BARS = 48;
/** Height of the drawing's box, in its own units (the SVG scales to the CSS size). */
const WAVE_HEIGHT = 32;
/** The shortest bar, so silence still shows where the note is. */
const MIN_BAR = 3;

/** The voice note playing now, if any: starting another pauses it. */
let playingNow: HTMLAudioElement | null = null;

export interface VoiceNotePlayerProps {
  attachment: Attachment;
}

export function VoiceNotePlayer({ attachment }: VoiceNotePlayerProps) {
  const audio = useRef<HTMLAudioElement>(null);
  const [playing, setPlaying] = useState(false);
  const [positionMs, setPositionMs] = useState(0);
  const [mediaDurationMs, setMediaDurationMs] = useState<number | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  // The recorder's duration first: a WebM from MediaRecorder has none in its header (the element says Infinity).
  const durationMs = attachment.durationMs ?? mediaDurationMs ?? 0;
  const bars = useMemo(() => barsOf(attachment.waveform, BARS), [attachment.waveform]);
  const fraction = durationMs > 0 ? Math.min(positionMs / durationMs, 1) : 0;
  const playedBars = Math.round(fraction * BARS);

  // While it plays, the position follows every frame (timeupdate alone moves the bars in 250 ms jumps).
  useEffect(() => {
    if (!playing) return;
    let frame = 0;
    const follow = () => {
      const el = audio.current;
      if (el) setPositionMs(el.currentTime * 1000);
      frame = requestAnimationFrame(follow);
    };
    frame = requestAnimationFrame(follow);
    return () => cancelAnimationFrame(frame);
  }, [playing]);

  useEffect(() => {
    const el = audio.current;
    return () => {
      if (el && playingNow === el) playingNow = null;
    };
  }, []);

  function toggle() {
    const el = audio.current;
    if (!el) return;
    if (!el.paused) {
      el.pause();
      return;
    }
    if (playingNow && playingNow !== el) playingNow.pause();
    playingNow = el;
    setProblem(null);
    el.play().catch((error: unknown) => {
      // A pause() before playback began rejects play() with an AbortError: not a failure.
      if (error instanceof DOMException && error.name === "AbortError") return;
      setProblem("This voice note cannot be played.");
    });
  }

  function seekTo(ms: number) {
    const el = audio.current;
    const target = Math.min(Math.max(ms, 0), durationMs);
    if (el) el.currentTime = target / 1000;
    setPositionMs(target);
  }

  function seekByPointer(event: MouseEvent<HTMLDivElement>) {
    const box = event.currentTarget.getBoundingClientRect();
    if (box.width <= 0 || durationMs <= 0) return;
    seekTo(((event.clientX - box.left) / box.width) * durationMs);
  }

  function keyDown(event: KeyboardEvent<HTMLDivElement>) {
    const target = seekByKey(event.key, positionMs, durationMs);
    if (target === null) return;
    event.preventDefault();
    seekTo(target);
  }

  const label = playing ? "Pause voice note" : "Play voice note";
  const step = WAVE_HEIGHT / 255;
  return (
    <div className={playing ? "voice-note voice-note--playing" : "voice-note"} data-testid="voice-note" data-attachment-id={attachment.id}>
      <button type="button" className="voice-note__play" aria-label={label} title={label} onClick={toggle} data-testid="voice-note-play">
        {playing ? <PauseIcon /> : <PlayIcon />}
      </button>
      <div
        className="voice-note__wave"
        role="slider"
        tabIndex={0}
        aria-label="Voice note position"
        aria-valuemin={0}
        aria-valuemax={Math.round(durationMs / 1000)}
        aria-valuenow={Math.round(positionMs / 1000)}
        aria-valuetext={`${voiceClock(positionMs)} of ${voiceClock(durationMs)}`}
        onClick={seekByPointer}
        onKeyDown={keyDown}
        data-testid="voice-note-slider"
      >
        <svg viewBox={`0 0 ${BARS * 3} ${WAVE_HEIGHT}`} preserveAspectRatio="none" aria-hidden="true" focusable="false">
          {bars.map((level, i) => {
            const height = Math.max(MIN_BAR, level * step);
            return (
              <rect key={i} x={i * 3} y={(WAVE_HEIGHT - height) / 2} width={2} height={height} rx={1}
                className={i < playedBars ? "voice-note__bar voice-note__bar--played" : "voice-note__bar"} />
            );
          })}
        </svg>
      </div>
      {/* Shown, not read: the slider already says "0:03 of 0:12". */}
      <span className="voice-note__time" aria-hidden="true" data-testid="voice-note-time">
        {voiceClock(positionMs)} / {voiceClock(durationMs)}
      </span>
      {problem ? <span className="voice-note__problem" role="alert">{problem}</span> : null}
      <audio
        ref={audio}
        src={attachment.url}
        preload="metadata"
        hidden
        onPlay={() => setPlaying(true)}
        onPause={() => setPlaying(false)}
        onEnded={(event) => {
          setPlaying(false);
          event.currentTarget.currentTime = 0;
          setPositionMs(0);
        }}
        onTimeUpdate={(event) => setPositionMs(event.currentTarget.currentTime * 1000)}
        onLoadedMetadata={(event) => {
          const seconds = event.currentTarget.duration;
          if (Number.isFinite(seconds)) setMediaDurationMs(seconds * 1000);
        }}
        onError={() => setProblem("This voice note cannot be played.")}
        data-testid="voice-note-audio"
      />
    </div>
  );
}

function PlayIcon() {
  return (
    <svg viewBox="0 0 24 24" width="16" height="16" fill="currentColor" aria-hidden="true" focusable="false">
      <path d="M7 4.5v15a1 1 0 0 0 1.5.86l12-7.5a1 1 0 0 0 0-1.72l-12-7.5A1 1 0 0 0 7 4.5z" />
    </svg>
  );
}

function PauseIcon() {
  return (
    <svg viewBox="0 0 24 24" width="16" height="16" fill="currentColor" aria-hidden="true" focusable="false">
      <rect x="6" y="4" width="4" height="16" rx="1" />
      <rect x="14" y="4" width="4" height="16" rx="1" />
    </svg>
  );
}
