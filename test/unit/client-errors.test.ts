import { Duplex } from "node:stream";
import { describe, expect, it } from "vitest";
import pino from "pino";
import { clientErrorHandler } from "@server/http/errors.js";
import { charsetOf } from "@server/http/json-body.js";

/**
 * What Node's HTTP parser refuses, answered by http/errors.ts's
 * clientErrorHandler on the raw socket (the integration tests provoke 400
 * and 431 over TCP; a 408 takes Node's 60 s headersTimeout, so it is
 * driven here).
 */
describe("clientErrorHandler", () => {
  const handle = clientErrorHandler(pino({ level: "silent" }));

  /** A socket that records what is written to it. */
  function fakeSocket(): { socket: Duplex & { _httpMessage?: { headersSent?: boolean } }; written: () => string } {
    const chunks: Buffer[] = [];
    const socket = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk);
        done();
      },
    });
    return { socket, written: () => Buffer.concat(chunks).toString("utf8") };
  }
  const error = (code: string, rawPacket?: Buffer) => Object.assign(new Error(code), { code, rawPacket });
  const parse = (text: string) => {
    const [head, body] = text.split("\r\n\r\n") as [string, string];
    return { status: Number(head.split(" ")[1]), head, body };
  };

  it("a headers timeout is 408 request_timeout in the contract's shape, with an X-Request-Id and Connection: close", () => {
    const { socket, written } = fakeSocket();
    handle(error("ERR_HTTP_REQUEST_TIMEOUT"), socket);
    const res = parse(written());
    expect(res.status).toBe(408);
    expect(res.head).toMatch(/\r\nX-Request-Id: [0-9a-f-]{36}\r\n/);
    expect(res.head).toMatch(/\r\nConnection: close$/);
    expect(JSON.parse(res.body)).toEqual({ error: { code: "request_timeout", message: expect.any(String) } });
  });

  it("answers a HEAD without a body, read from the refused bytes' request line", () => {
    const { socket, written } = fakeSocket();
    handle(error("HPE_HEADER_OVERFLOW", Buffer.from("HEAD /api/v1/rooms/xxxx")), socket);
    const res = parse(written());
    expect(res.status).toBe(431);
    expect(res.body).toBe("");
    const get = fakeSocket();
    handle(error("HPE_HEADER_OVERFLOW", Buffer.from("GET /api/v1/rooms/xxxx")), get.socket);
    expect(JSON.parse(parse(get.written()).body)).toMatchObject({ error: { code: "headers_too_large" } });
  });

  it("writes nothing on a reset connection, or over a response already started", () => {
    const reset = fakeSocket();
    handle(error("ECONNRESET"), reset.socket);
    expect(reset.written()).toBe("");
    const started = fakeSocket();
    started.socket._httpMessage = { headersSent: true };
    handle(error("HPE_INVALID_CHUNK_SIZE"), started.socket);
    expect(started.written()).toBe("");
    expect(started.socket.destroyed).toBe(true);
  });
});

describe("charsetOf", () => {
  it("reads the charset parameter, unquoted and lower-cased, or null", () => {
    expect(charsetOf("application/json")).toBeNull();
    expect(charsetOf("application/json; charset=UTF-16")).toBe("utf-16");
    expect(charsetOf('application/json;charset="utf-8"')).toBe("utf-8");
    expect(charsetOf("application/json; foo=bar; Charset = latin1")).toBe("latin1");
  });
});
