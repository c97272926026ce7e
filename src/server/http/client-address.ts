import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import proxyAddr from "@fastify/proxy-addr";
import ipaddr from "ipaddr.js";

/**
 * Who a client is, as an address, for the per-address limits of HTTP
 * (login, signup) and of the WebSocket upgrade (sockets per address): the
 * same answer on both transports.
 */

/**
 * The rate-limit key of a client address: an IPv4 address as is (an
 * IPv4-mapped IPv6 one as its IPv4), an IPv6 address by its /64 prefix,
 * since one subscriber is routinely given a whole /64 (RFC 6177) and could
 * otherwise take a fresh address, and a fresh budget, per request. A zone
 * id (`fe80::1%eth0`) names an interface, not a client, and is dropped.
 * Anything that is not an IP address is returned unchanged. Parsing is
 * ipaddr.js's (the parser behind proxy-addr, so Fastify's `request.ip`).
 */
export function addressKey(ip: string): string {
  const bare = ip.split("%")[0] ?? ip;
  if (isIP(bare) === 0) return ip;
  const parsed = ipaddr.parse(bare);
  if (parsed.kind() === "ipv4") return parsed.toString();
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  return `${v6.parts.slice(0, 4).map((p) => p.toString(16)).join(":")}::/64`;
}

/**
 * The client address of a raw HTTP request (the WebSocket upgrade, which
 * Fastify does not see): the peer, or, when the peer is one of the
 * `trustedProxies` (addresses or CIDR ranges), the nearest X-Forwarded-For
 * hop that is not a trusted proxy. The same rule, and the same library
 * (proxy-addr), as Fastify's `request.ip` with `trustProxy`.
 * @returns a function of the request; with no trusted proxy, the peer address
 */
export function clientAddressOf(trustedProxies: readonly string[]): (req: IncomingMessage) => string {
  if (trustedProxies.length === 0) return (req) => req.socket.remoteAddress ?? "";
  const trust = proxyAddr.compile([...trustedProxies]);
  return (req) => proxyAddr(req, trust);
}
