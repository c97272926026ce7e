import nodemailer, { type Transporter } from "nodemailer";
import type { Config } from "../../config.js";

/**
 * The SMTP side of email digests (issue 19): one nodemailer transport for
 * the node, made from --smtp-url, or none at all when it is unset (then no
 * digest is ever queued or sent).
 */

/** One mail as the digest job hands it over: the addresses and both bodies. */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Extra headers (List-Unsubscribe, List-Unsubscribe-Post). */
  headers: Record<string, string>;
}

/** Sends mail; `send` resolves once the SMTP server accepted the message. */
export interface Mailer {
  /** @throws when the server cannot be reached, refuses the sender or the recipient, or times out */
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/**
 * Bounds on one SMTP conversation (ms). nodemailer's defaults (2 min to
 * connect, 10 min of silence) would let one stuck server hold the digest
 * job for minutes; a failed send is retried at the next tick anyway.
 */
const CONNECTION_TIMEOUT_MS = 10_000;
const GREETING_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 30_000;

/** A nodemailer transport from config.smtpUrl (smtp:// with STARTTLS when offered, smtps:// for implicit TLS); null without one. */
export function openMailer(config: Pick<Config, "smtpUrl" | "smtpFrom">): Mailer | null {
  if (config.smtpUrl === null) return null;
  const transport: Transporter = nodemailer.createTransport(
    { url: config.smtpUrl, connectionTimeout: CONNECTION_TIMEOUT_MS, greetingTimeout: GREETING_TIMEOUT_MS, socketTimeout: SOCKET_TIMEOUT_MS },
    { from: config.smtpFrom },
  );
  return {
    async send(mail) {
      await transport.sendMail({ to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, headers: mail.headers });
    },
    close: () => transport.close(),
  };
}
