/**
 * Types for `http_ece` (RFC 8188 encrypted content-encoding), which ships
 * none: only what test/support/push-service.ts uses. Binary parameters may
 * be Buffers or base64url strings.
 */
declare module "http_ece" {
  import type { ECDH } from "node:crypto";

  export interface EceParams {
    /** "aes128gcm" (RFC 8188, what Web Push uses per RFC 8291). */
    version?: "aes128gcm" | "aesgcm";
    /** The receiver's ECDH key pair (Web Push: the subscription's P-256 key). */
    privateKey?: ECDH;
    /** The subscription's 16-byte auth secret. */
    authSecret?: Buffer | string;
    /** The receiver's public key when encrypting (Web Push: the subscription's p256dh). */
    dh?: Buffer | string;
    key?: Buffer | string;
    salt?: Buffer | string;
    rs?: number;
  }

  export function decrypt(buffer: Buffer, params: EceParams): Buffer;
  export function encrypt(buffer: Buffer, params: EceParams): Buffer;
  const ece: { decrypt: typeof decrypt; encrypt: typeof encrypt };
  export default ece;
}
