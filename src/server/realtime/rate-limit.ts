/**
 * A token bucket: `capacity` tokens, refilled at `perSecond`; `now` returns
 * milliseconds, injectable for tests. The one mechanism behind every
 * per-socket budget below.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  /** True when `cost` tokens are there now (after the refill for the time elapsed). */
  has(cost = 1): boolean {
    const now = this.now();
    const elapsed = (now - this.last) / 1000;
    this.last = now;
    // Guarded: 0 × Infinity is NaN.
    if (elapsed > 0) this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.perSecond);
    return this.tokens >= cost;
  }

  /** Takes `cost` tokens if they are there; false (nothing taken) otherwise. */
  take(cost = 1): boolean {
    if (!this.has(cost)) return false;
    this.tokens -= cost;
    return true;
  }
}

/**
 * Per socket: `perSecond` frames and `bytesPerSecond` bytes sustained,
 * bursts of 4× each. A frame that either bucket cannot pay for is
 * refused with `rate_limited`, before it is parsed; a client that keeps
 * sending while refused (ten bursts' worth of frames within one refill
 * window) is flooding and gets closed (DESIGN.md invariant 5 allows that one close).
 */
export class CommandRateLimit {
  private readonly frames: TokenBucket;
  private readonly bytes: TokenBucket;
  private readonly capacity: number;
  private refused = 0;
  private last: number;

  /**
   * `perSecond` frames and `bytesPerSecond` bytes (Infinity: no byte limit);
   * `now` returns milliseconds, injectable for tests.
   */
  constructor(
    private readonly perSecond: number,
    bytesPerSecond: number = Infinity,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.capacity = Math.max(4 * perSecond, 10);
    this.frames = new TokenBucket(this.capacity, perSecond, now);
    this.bytes = new TokenBucket(4 * bytesPerSecond, bytesPerSecond, now);
    this.last = now();
  }

  /** Counts one frame of `bytes` bytes (its payload length, before any decoding). */
  take(bytes = 0): "ok" | "limited" | "flood" {
    const now = this.now();
    this.refused = Math.max(0, this.refused - ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    // Both checked before either is paid: a refused frame costs neither bucket.
    if (this.frames.has(1) && this.bytes.has(bytes)) {
      this.frames.take(1);
      this.bytes.take(bytes);
      return "ok";
    }
    this.refused += 1;
    return this.refused > 10 * this.capacity ? "flood" : "limited";
  }
}

/**
 * Malformed frames a socket may send: `perMinute` in any minute
 * (a token bucket of that size, refilled at that rate). Past it the socket
 * is closed with 1008: a client that keeps sending what it was told is
 * wrong is broken or probing, and each refusal costs the server an answer.
 */
export class InvalidFrameLimit {
  private readonly bucket: TokenBucket;

  /** `now` returns milliseconds; injectable for tests. */
  constructor(perMinute: number, now: () => number = () => performance.now()) {
    this.bucket = new TokenBucket(perMinute, perMinute / 60, now);
  }

  /** Counts one bad frame; true when the socket is past its budget and must be closed. */
  count(): boolean {
    return !this.bucket.take();
  }
}

/**
 * A socket's own budget for typing frames, apart from its command limit so
 * that typing never throttles sends: `perSecond` sustained, bursts of 2×.
 * Past it typing frames are dropped unparsed and unanswered (they are
 * ephemeral, and the client repeats them). `now` is in ms, injectable for tests.
 */
export class TypingBudget {
  private readonly bucket: TokenBucket;

  constructor(perSecond: number, now: () => number = () => performance.now()) {
    this.bucket = new TokenBucket(Math.max(2 * perSecond, 1), perSecond, now);
  }

  /** Takes one frame's token; false: drop the frame. */
  take(): boolean {
    return this.bucket.take();
  }
}
