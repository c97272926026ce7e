import net from "node:net";

/** One HTTP/1.1 answer read off a raw socket. */
export interface RawAnswer {
  status: number;
  headers: Headers;
  /** The bytes after the head, as UTF-8 text (empty when none came). */
  body: string;
  /** Everything the server sent, as latin1 text. */
  raw: string;
}

/**
 * Sends `request` as is on a new TCP connection to `baseUrl`'s host and
 * port, reads until the server closes the connection, and parses the
 * first answer. For what fetch cannot send (a raw non-ASCII byte in the
 * target, a malformed line, a target left unnormalized) and for what it
 * would hide (bytes after a HEAD's head). A request that is answered
 * normally must say `Connection: close`, or the server keeps the
 * connection open; after 10 s the promise rejects.
 */
export function rawHttp(baseUrl: string, request: string | Buffer): Promise<RawAnswer> {
  return heldHttp(baseUrl, request, "", Promise.resolve()).answer;
}

/**
 * `rawHttp` in two parts: `first` is written at once, `rest` only once
 * `until` resolves. A request whose head is cut short so is one the server
 * is already reading: its connection is active, not idle, and a stopping
 * server answers it instead of closing it. `sent` resolves once the first
 * part is written.
 */
export function heldHttp(
  baseUrl: string,
  first: string | Buffer,
  rest: string | Buffer,
  until: Promise<unknown>,
): { sent: Promise<void>; answer: Promise<RawAnswer> } {
  const { hostname, port } = new URL(baseUrl);
  let sent!: () => void;
  const written = new Promise<void>((resolve) => (sent = resolve));
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer within 10 s")));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    // A server that refuses a request it could not read may close before reading all of it: a reset after the answer is no failure.
    socket.on("error", (err) => (chunks.length > 0 ? undefined : reject(err)));
    socket.on("close", () => {
      const bytes = Buffer.concat(chunks);
      const raw = bytes.toString("latin1");
      const end = bytes.indexOf("\r\n\r\n");
      if (end < 0) return reject(new Error(`no complete answer: ${JSON.stringify(raw.slice(0, 200))}`));
      const [statusLine, ...lines] = raw.slice(0, end).split("\r\n");
      const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine ?? "")?.[1]);
      const headers = new Headers();
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      }
      const rest = bytes.subarray(end + 4);
      const body = (headers.get("transfer-encoding") === "chunked" ? Buffer.from(unchunk(rest.toString("latin1")), "latin1") : rest).toString("utf8");
      resolve({ status, headers, body, raw });
    });
    socket.write(first, () => sent());
    void until.then(() => {
      if (rest.length > 0 && !socket.destroyed) socket.write(rest);
    });
  });
  return { sent: written, answer };
}

/** Decodes a chunked body (RFC 9112 §7.1), ignoring extensions and trailers. */
function unchunk(text: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const lineEnd = text.indexOf("\r\n", at);
    if (lineEnd < 0) return out;
    const size = parseInt(text.slice(at, lineEnd), 16);
    if (!(size > 0)) return out;
    out += text.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

/** A WebSocket upgrade request line and headers for `target` (no credentials unless given in `extra`). */
export function upgradeRequest(target: string, extra: Record<string, string> = {}): string {
  const headers = {
    Host: "localhost",
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    ...extra,
  };
  return `GET ${target} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("")}\r\n`;
}
