import dns from "node:dns";
import net from "node:net";
import ipaddr from "ipaddr.js";
import { ErrorCode } from "@shared/protocol/errors.js";
import { AppError } from "../../errors.js";

/**
 * The SSRF guard of Web Push (issue 19). A push subscription's endpoint is
 * a URL the client chose, which the server then POSTs to: without a guard,
 * any user could make the server call inside its own network (a cloud's
 * metadata service at 169.254.169.254, an admin port on 127.0.0.1). So an
 * endpoint must resolve to public unicast addresses only, unless the
 * operator set --push-allow-private-endpoints (a push service inside the
 * network). Checked twice:
 *
 * - when subscribing (`checkEndpoint`): the host is resolved and every
 *   address checked, so a bad endpoint is refused at once with a clear
 *   error, before it is stored;
 * - at every send (`guardedLookup`, the push agent's `lookup`, and
 *   `literalAllowed` for IP literals, which Node never looks up): the
 *   addresses the connection will actually use are checked as it opens,
 *   so a name that resolved to a public address when subscribing and to a
 *   private one later (DNS rebinding) is refused all the same.
 *
 * Allowed: ipaddr.js's range "unicast" only (IPv4-mapped IPv6 judged as its
 * IPv4). Refused: loopback, private (RFC 1918), unique-local, link-local,
 * unspecified, carrier-grade NAT, multicast, broadcast, reserved, and the
 * IPv6 ranges that embed an IPv4 address (6to4, NAT64, Teredo), which could
 * carry a private one.
 */

/** The code of the error a guarded lookup fails with (the sender logs this kind). */
export const PRIVATE_ADDRESS = "EPUSHPRIVATE";

/** Whether `address` (an IP literal) is a public unicast address; false for anything unparsable. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === "unicast";
}

/** The endpoint's host without IPv6 brackets. */
const hostOf = (endpoint: URL): string => endpoint.hostname.replace(/^\[(.*)\]$/, "$1");

/**
 * Whether a send may go to `endpoint` as far as an IP-literal host decides
 * (names are checked by `guardedLookup` as the connection opens).
 */
export function literalAllowed(endpoint: URL, allowPrivate: boolean): boolean {
  const host = hostOf(endpoint);
  return allowPrivate || net.isIP(host) === 0 || isPublicAddress(host);
}

/** How a host is resolved (dns.promises.lookup's shape); a test may pass its own. */
export type Resolve = (host: string) => Promise<{ address: string }[]>;

const systemResolve: Resolve = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

const refused = (message: string): AppError =>
  new AppError(ErrorCode.ValidationFailed, message, { details: [{ path: "body.endpoint", message }] });

/**
 * Checks a new subscription's endpoint: its host must resolve, and every
 * address it resolves to must be public (unless `allowPrivate`).
 * @throws AppError validation_failed (path `body.endpoint`) when the host does not resolve or names a private address
 */
export async function checkEndpoint(endpoint: string, allowPrivate: boolean, resolve: Resolve = systemResolve): Promise<void> {
  if (allowPrivate) return;
  const host = hostOf(new URL(endpoint));
  let addresses: string[];
  if (net.isIP(host) !== 0) addresses = [host];
  else {
    try {
      addresses = (await resolve(host)).map((a) => a.address);
    } catch {
      throw refused("The push endpoint's host does not resolve.");
    }
  }
  if (addresses.length === 0) throw refused("The push endpoint's host does not resolve.");
  if (!addresses.every(isPublicAddress)) throw refused("The push endpoint must be on a public address (not loopback, private or link-local).");
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for the push agent (net.connect's option): dns.lookup, then
 * every address checked; a private one fails the connection with
 * `PRIVATE_ADDRESS` before any byte is sent. Handles both of net's calling
 * forms (`all: true`, used with autoSelectFamily, and a single address).
 */
export function guardedLookup(allowPrivate: boolean): net.LookupFunction {
  return ((hostname: string, options: dns.LookupOptions, callback: LookupCallback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "");
      const list = addresses as dns.LookupAddress[];
      if (!allowPrivate && (list.length === 0 || !list.every((a) => isPublicAddress(a.address)))) {
        const denied: NodeJS.ErrnoException = new Error(`push endpoint ${hostname} resolves to a non-public address`);
        denied.code = PRIVATE_ADDRESS;
        return callback(denied, "");
      }
      if (options.all) return callback(null, list);
      const first = list[0]!;
      return callback(null, first.address, first.family);
    });
  }) as net.LookupFunction;
}
