/**
 * When the composer says "I am typing": a `start` when the draft gets text,
 * repeated at most every TYPING_REFRESH_MS while it keeps changing (the
 * server forgets a start after ~6 s of quiet), and a `stop` when the draft
 * is sent, emptied, left (blur) or unmounted (room switch).
 */
import { useEffect, useMemo, useRef } from "react";

/** A start is repeated no more often than this while the draft keeps changing (ms). */
export const TYPING_REFRESH_MS = 3_000;

export interface TypingSignal {
  /** The draft changed to `text`. */
  changed(text: string): void;
  /** Sent, blurred or gone: stop if started. */
  stopped(): void;
}

/** `emit` is called with each start/stop to send; `now` in ms, injectable. */
export function typingSignal(emit: (state: "start" | "stop") => void, now: () => number = () => Date.now()): TypingSignal {
  let startedAt: number | null = null;
  return {
    changed(text) {
      if (text.trim() === "") return this.stopped();
      const t = now();
      if (startedAt !== null && t - startedAt < TYPING_REFRESH_MS) return;
      startedAt = t;
      emit("start");
    },
    stopped() {
      if (startedAt === null) return;
      startedAt = null;
      emit("stop");
    },
  };
}

/** The composer's TypingSignal; stops on unmount. `onTyping` may be absent (no signals). */
export function useTypingSignal(onTyping: ((state: "start" | "stop") => void) | undefined): TypingSignal {
  const emit = useRef(onTyping);
  emit.current = onTyping;
  const signal = useMemo(() => typingSignal((state) => emit.current?.(state)), []);
  useEffect(() => () => signal.stopped(), [signal]);
  return signal;
}
