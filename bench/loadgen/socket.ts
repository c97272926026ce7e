import WebSocket from "ws";

/**
 * The load generator's WebSocket client: the `ws` library's, configured to
 * do as little as possible per frame (no compression, no UTF-8 validation)
 * and reduced to the three things a worker needs. (A hand-written RFC 6455
 * client that cut frames straight out of the TCP chunks was tried: it used
 * the same CPU per delivery within the noise, because the cost per frame is
 * the socket read itself, one per frame at these rates, not the framing.)
 */

export interface FrameHandlers {
  /** A complete text message. */
  onText(data: Buffer): void;
  /** The connection ended; `code` is the close code (1006 when it just dropped). */
  onClose(code: number): void;
  onError(err: Error): void;
}

export interface BenchSocket {
  send(text: string): void;
  terminate(): void;
}

export function openSocket(url: string, opts: { headers?: Record<string, string>; timeoutMs: number }, handlers: FrameHandlers): BenchSocket {
  const ws = new WebSocket(url, {
    headers: opts.headers,
    perMessageDeflate: false,
    skipUTF8Validation: true,
    maxPayload: 1 << 20,
    handshakeTimeout: opts.timeoutMs,
  });
  ws.on("message", (data: Buffer) => handlers.onText(data));
  ws.on("error", (err) => handlers.onError(err));
  ws.on("close", (code) => handlers.onClose(code));
  return { send: (text) => ws.send(text), terminate: () => ws.terminate() };
}
