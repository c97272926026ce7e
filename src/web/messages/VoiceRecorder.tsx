/**
 * Recording a voice note in the composer (issue 17, item 4).
 *
 * The microphone button ("Record voice note") asks for the microphone
 * (getUserMedia) and records with MediaRecorder, in Opus (WebM or Ogg, as
 * the browser offers; Safari's MP4 otherwise). While it records, the
 * composer's box shows the elapsed time (mm:ss), the live level of the
 * microphone, "Cancel recording" and "Send voice note"; Escape cancels.
 * A screen reader hears "Recording" when it starts and the outcome when it
 * stops, not every second (the clock is a `timer`, which is not live).
 * The recording stops by itself at MAX_RECORDING_MS and waits to be sent or
 * discarded. A refused permission, or no microphone, is said in words.
 *
 * The waveform comes from the audio itself: an AnalyserNode on the
 * microphone's stream is read every SAMPLE_EVERY_MS and its loudest sample
 * kept (waveform.ts folds those peaks into WAVEFORM_POINTS levels at the
 * end). Send uploads the recording with its duration and waveform
 * (api/voice.ts, progress shown, cancellable) and hands the pending upload
 * to `onSend`; the parent sends the message that carries it. A failed
 * upload says why and offers Retry, keeping the recording.
 */
import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import type { Attachment } from "@shared/protocol/index.js";
import { announce } from "@web/a11y/announcer";
import { ApiError, ClientErrorCode } from "@web/api/http";
import { uploadVoiceNote } from "@web/api/voice";
import { useChatClient } from "@web/state/useChat";
import { CloseIcon, SendIcon } from "@web/ui/icons";
import { peakOf, voiceClock, voiceWaveform } from "./waveform";

/** Longest voice note, in ms: the recording stops by itself there (5 minutes, as in Signal). */
export const MAX_RECORDING_MS = 5 * 60 * 1000;
/** How often the clock moves and the microphone's level is read, in ms. */
const SAMPLE_EVERY_MS = 100;
/**
 * Samples the analyser holds: 4096 at 48 kHz is 85 ms, close to
 * SAMPLE_EVERY_MS, so the reads together cover nearly all of the audio.
 */
const ANALYSER_FFT_SIZE = 4096;
/** Bars of the live level while recording (the newest on the right). */
const LIVE_BARS = 32;
/** Opus at 32 kbit/s is clear for speech; 5 minutes make about 1.2 MB. */
const AUDIO_BITS_PER_SECOND = 32_000;

/** Containers to record in, in order of preference (MediaRecorder.isTypeSupported decides). */
const RECORDING_TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/ogg", "audio/mp4"];

/** The first recording type the browser supports, or undefined (MediaRecorder then picks its default). */
export function recordingType(isTypeSupported: (type: string) => boolean): string | undefined {
  return RECORDING_TYPES.find((type) => isTypeSupported(type));
}

/** A finished recording, kept until it is sent or discarded (Retry sends it again). */
interface Recording {
  blob: Blob;
  durationMs: number;
  waveform: number[];
}

type Phase =
  | { name: "idle" }
  /** Waiting for the browser's permission prompt. */
  | { name: "asking" }
  | { name: "recording" }
  /** Stopped at the length limit: waiting for Send or Cancel. */
  | { name: "stopped" }
  | { name: "uploading"; progress: number }
  | { name: "failed"; message: string }
  /** No microphone, or no permission: why, in words. */
  | { name: "unavailable"; message: string };

/** The microphone and the recorder while a recording runs. */
interface Capture {
  stream: MediaStream;
  recorder: MediaRecorder;
  chunks: Blob[];
  audio: AudioContext | null;
  analyser: AnalyserNode | null;
  samples: Float32Array<ArrayBuffer> | null;
  peaks: number[];
  startedAt: number;
  timer: number;
}

export interface VoiceRecorderProps {
  /** The voice note is uploaded: send the message that carries it. */
  onSend: (upload: Attachment) => void;
}

export function VoiceRecorder({ onSend }: VoiceRecorderProps) {
  const chat = useChatClient();
  const [phase, setPhase] = useState<Phase>({ name: "idle" });
  const [elapsedMs, setElapsedMs] = useState(0);
  const [live, setLive] = useState<number[]>([]);
  const capture = useRef<Capture | null>(null);
  const recording = useRef<Recording | null>(null);
  const upload = useRef<AbortController | null>(null);
  const mounted = useRef(true);
  /** Bumped by each start and each cancel: a start whose permission prompt was cancelled stops there. */
  const attempts = useRef(0);
  const micButton = useRef<HTMLButtonElement>(null);
  const sendButton = useRef<HTMLButtonElement>(null);
  const cancelButton = useRef<HTMLButtonElement>(null);
  const dismissButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      // Leaving the room mid-recording: the microphone is let go (its indicator goes off) and nothing is sent.
      release(capture.current);
      capture.current = null;
      upload.current?.abort();
    };
  }, []);

  // The control that replaces the one just pressed takes the focus, so the keyboard never falls to <body>.
  const focusAfter = useRef<"mic" | "send" | "cancel" | "dismiss" | null>(null);
  useEffect(() => {
    const target = focusAfter.current;
    focusAfter.current = null;
    const button = { mic: micButton, send: sendButton, cancel: cancelButton, dismiss: dismissButton }[target ?? "mic"];
    if (target) button.current?.focus();
  }, [phase.name]);

  async function start() {
    if (typeof MediaRecorder === "undefined" || !navigator.mediaDevices?.getUserMedia) {
      focusAfter.current = "dismiss";
      setPhase({ name: "unavailable", message: "This browser cannot record voice notes here." });
      return;
    }
    setPhase({ name: "asking" });
    const attempt = ++attempts.current;
    // Cancelled (or unmounted) while the permission prompt was open: the microphone granted later is let go at once.
    const abandoned = () => !mounted.current || attempts.current !== attempt;
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
    } catch (error) {
      if (abandoned()) return;
      focusAfter.current = "dismiss";
      setPhase({ name: "unavailable", message: microphoneProblem(error) });
      return;
    }
    if (abandoned()) {
      stream.getTracks().forEach((track) => track.stop());
      return;
    }
    let recorder: MediaRecorder;
    try {
      const mimeType = recordingType((type) => MediaRecorder.isTypeSupported(type));
      recorder = new MediaRecorder(stream, { ...(mimeType ? { mimeType } : {}), audioBitsPerSecond: AUDIO_BITS_PER_SECOND });
    } catch {
      stream.getTracks().forEach((track) => track.stop());
      focusAfter.current = "dismiss";
      setPhase({ name: "unavailable", message: "This browser cannot record voice notes here." });
      return;
    }
    const chunks: Blob[] = [];
    recorder.addEventListener("dataavailable", (event) => {
      if (event.data.size > 0) chunks.push(event.data);
    });
    const { audio, analyser } = analyserOf(stream);
    const current: Capture = {
      stream,
      recorder,
      chunks,
      audio,
      analyser,
      samples: analyser ? new Float32Array(analyser.fftSize) : null,
      peaks: [],
      startedAt: performance.now(),
      timer: window.setInterval(() => tick(current), SAMPLE_EVERY_MS),
    };
    capture.current = current;
    try {
      // Chunks every second: a recorder that fails late still leaves what it had.
      recorder.start(1000);
    } catch {
      capture.current = null;
      release(current);
      focusAfter.current = "dismiss";
      setPhase({ name: "unavailable", message: "This browser cannot record voice notes here." });
      return;
    }
    recording.current = null;
    setElapsedMs(0);
    setLive([]);
    focusAfter.current = "send";
    setPhase({ name: "recording" });
    announce("Recording a voice note. Escape cancels.");
  }

  /** One read: the clock, the microphone's peak, and the length limit. */
  function tick(current: Capture) {
    if (capture.current !== current) return;
    const elapsed = performance.now() - current.startedAt;
    if (current.analyser && current.samples) {
      current.analyser.getFloatTimeDomainData(current.samples);
      current.peaks.push(peakOf(current.samples));
    }
    setElapsedMs(elapsed);
    setLive(current.peaks.slice(-LIVE_BARS));
    if (elapsed >= MAX_RECORDING_MS) void stopAtLimit();
  }

  async function stopAtLimit() {
    const finished = await finish();
    if (!finished || !mounted.current) return;
    recording.current = finished;
    focusAfter.current = "send";
    setPhase({ name: "stopped" });
    announce(`Recording stopped at the ${voiceClock(MAX_RECORDING_MS)} limit. Send it or cancel.`);
  }

  /** Stops the recorder and lets the microphone go; resolves with the recording (null if none was running). */
  async function finish(): Promise<Recording | null> {
    const current = capture.current;
    if (!current) return null;
    capture.current = null;
    window.clearInterval(current.timer);
    const durationMs = Math.min(performance.now() - current.startedAt, MAX_RECORDING_MS);
    setElapsedMs(durationMs);
    const { recorder } = current;
    // The last chunk arrives (dataavailable) before "stop". A recorder already inactive (its track ended) has all of them.
    if (recorder.state !== "inactive") {
      await new Promise<void>((resolve) => {
        recorder.addEventListener("stop", () => resolve(), { once: true });
        recorder.stop();
      });
    }
    release(current);
    const type = recorder.mimeType || current.chunks[0]?.type || "audio/webm";
    return { blob: new Blob(current.chunks, { type }), durationMs, waveform: voiceWaveform(current.peaks) };
  }

  async function send() {
    const attempt = attempts.current;
    let finished = recording.current;
    if (phase.name === "recording") {
      finished = await finish();
      // Cancelled while the recorder was handing over its last chunk: nothing is sent.
      if (!finished || !mounted.current || attempts.current !== attempt) return;
      recording.current = finished;
      announce(`Voice note recorded, ${voiceClock(finished.durationMs)}. Sending.`);
    }
    if (!finished) return;
    const controller = new AbortController();
    upload.current = controller;
    // Send is disabled while it uploads: Cancel takes the focus (and Escape still reaches the recorder).
    focusAfter.current = "cancel";
    setPhase({ name: "uploading", progress: 0 });
    try {
      const uploaded = await uploadVoiceNote(
        chat.api.transport,
        finished.blob,
        finished.durationMs,
        finished.waveform,
        (progress) => {
          if (upload.current === controller) setPhase({ name: "uploading", progress });
        },
        controller.signal,
      );
      if (upload.current !== controller) return;
      upload.current = null;
      recording.current = null;
      focusAfter.current = "mic";
      setPhase({ name: "idle" });
      onSend(uploaded);
    } catch (error) {
      if (upload.current !== controller || !mounted.current) return; // cancelled: cancel() has reset everything
      upload.current = null;
      focusAfter.current = "send";
      setPhase({ name: "failed", message: uploadProblem(error) });
    }
  }

  function cancel() {
    attempts.current += 1;
    const wasRecording = capture.current !== null;
    const current = capture.current;
    capture.current = null;
    if (current) {
      window.clearInterval(current.timer);
      if (current.recorder.state !== "inactive") current.recorder.stop();
      release(current);
    }
    upload.current?.abort();
    upload.current = null;
    recording.current = null;
    focusAfter.current = "mic";
    setPhase({ name: "idle" });
    if (wasRecording || phase.name === "stopped" || phase.name === "failed" || phase.name === "uploading") {
      announce("Voice note discarded.");
    }
  }

  function keyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (event.key !== "Escape" || phase.name === "idle") return;
    event.preventDefault();
    event.stopPropagation();
    cancel();
  }

  if (phase.name === "idle") {
    return (
      <button ref={micButton} type="button" className="voice-recorder__mic" aria-label="Record voice note" title="Record voice note"
        onClick={() => void start()} data-testid="voice-record">
        <MicIcon />
      </button>
    );
  }

  const clock = voiceClock(elapsedMs, { padMinutes: true });
  return (
    <div className="voice-recorder" role="group" aria-label="Voice note" onKeyDown={keyDown} data-testid="voice-recorder"
      data-phase={phase.name}>
      {phase.name === "unavailable" ? (
        <>
          <p className="voice-recorder__problem" role="alert" data-testid="voice-problem">{phase.message}</p>
          <button ref={dismissButton} type="button" className="voice-recorder__button" aria-label="Dismiss" title="Dismiss"
            onClick={cancel} data-testid="voice-dismiss">
            <CloseIcon aria-hidden="true" />
          </button>
        </>
      ) : (
        <>
          <button ref={cancelButton} type="button" className="voice-recorder__button" aria-label="Cancel recording" title="Cancel recording (Esc)"
            onClick={cancel} data-testid="voice-cancel">
            <CloseIcon aria-hidden="true" />
          </button>
          <span className={phase.name === "recording" ? "voice-recorder__dot voice-recorder__dot--live" : "voice-recorder__dot"}
            aria-hidden="true" />
          {/* A timer is not a live region: a screen reader is told at the start and at the end, not every second. */}
          <span className="voice-recorder__clock" role="timer" aria-live="off" aria-label={`Recorded ${voiceClock(elapsedMs)}`}
            data-testid="voice-clock" data-elapsed-ms={Math.round(elapsedMs)}>
            {clock}
          </span>
          {phase.name === "uploading" ? (
            <span className="voice-recorder__status">
              <progress className="voice-recorder__progress" max={1} value={phase.progress} aria-label="Sending voice note"
                data-testid="voice-progress" />
            </span>
          ) : phase.name === "failed" ? (
            <span className="voice-recorder__status voice-recorder__problem" role="alert" data-testid="voice-problem">
              {phase.message}
            </span>
          ) : phase.name === "stopped" ? (
            <span className="voice-recorder__status voice-recorder__note">{voiceClock(MAX_RECORDING_MS)} limit reached</span>
          ) : (
            <LiveLevel peaks={live} waiting={phase.name === "asking"} />
          )}
          <button ref={sendButton} type="button" className="voice-recorder__button voice-recorder__send"
            aria-label={phase.name === "failed" ? "Retry sending voice note" : "Send voice note"}
            title={phase.name === "failed" ? "Retry" : "Send voice note"}
            disabled={phase.name === "asking" || phase.name === "uploading"}
            onClick={() => void send()} data-testid="voice-send">
            <SendIcon aria-hidden="true" />
          </button>
        </>
      )}
    </div>
  );
}

/** The microphone's recent peaks as bars (decorative: the clock says that it records). */
function LiveLevel({ peaks, waiting }: { peaks: readonly number[]; waiting: boolean }) {
  if (waiting) return <span className="voice-recorder__status voice-recorder__note">Waiting for the microphone…</span>;
  const loudest = Math.max(0.05, ...peaks);
  const bars = [...new Array<number>(Math.max(0, LIVE_BARS - peaks.length)).fill(0), ...peaks];
  return (
    <span className="voice-recorder__status voice-recorder__level" aria-hidden="true" data-testid="voice-level">
      {bars.map((peak, i) => (
        <span key={i} className="voice-recorder__bar" style={{ height: `${Math.max(8, Math.round((peak / loudest) * 100))}%` }} />
      ))}
    </span>
  );
}

/** An AnalyserNode on the stream, or nulls where Web Audio is missing (the waveform is then flat; the note still records). */
function analyserOf(stream: MediaStream): { audio: AudioContext | null; analyser: AnalyserNode | null } {
  try {
    const audio = new AudioContext();
    const analyser = audio.createAnalyser();
    analyser.fftSize = ANALYSER_FFT_SIZE;
    // Into the analyser only, not to the speakers: the person would hear themselves.
    audio.createMediaStreamSource(stream).connect(analyser);
    // Created in the click's task, so the autoplay policy lets it run; resume in case it started suspended.
    void audio.resume().catch(() => undefined);
    return { audio, analyser };
  } catch {
    return { audio: null, analyser: null };
  }
}

/** Lets the microphone go (the browser's recording indicator goes off) and closes the audio graph. */
function release(current: Capture | null) {
  if (!current) return;
  window.clearInterval(current.timer);
  current.stream.getTracks().forEach((track) => track.stop());
  void current.audio?.close().catch(() => undefined);
}

/** Why getUserMedia failed, in words (its DOMException names: MDN, MediaDevices.getUserMedia, "Exceptions"). */
function microphoneProblem(error: unknown): string {
  const name = error instanceof DOMException || error instanceof Error ? error.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Microphone access was refused. Allow the microphone for this site in the browser's settings to record a voice note.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No microphone was found. Connect one to record a voice note.";
    case "NotReadableError":
    case "AbortError":
      return "The microphone could not be started: another app may be using it.";
    default:
      return "The microphone could not be started.";
  }
}

/** Why an upload failed, in words, by the API's stable codes. */
function uploadProblem(error: unknown): string {
  if (!(error instanceof ApiError)) return "The voice note could not be sent.";
  switch (error.code) {
    case "payload_too_large":
      return "The voice note is too large to send.";
    case "limit_reached":
      return "Your storage is full: delete some files to send this voice note.";
    case "rate_limited":
      return "Too many uploads just now: try again in a moment.";
    case ClientErrorCode.Network:
      return "The voice note could not be sent: the server cannot be reached.";
    default:
      return `The voice note could not be sent: ${error.message}`;
  }
}

function MicIcon() {
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round"
      strokeLinejoin="round" aria-hidden="true">
      <path d="M12 2a3 3 0 0 0-3 3v7a3 3 0 0 0 6 0V5a3 3 0 0 0-3-3zM19 10v2a7 7 0 0 1-14 0v-2M12 19v3M8 22h8" />
    </svg>
  );
}
