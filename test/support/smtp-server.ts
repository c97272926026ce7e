import { SMTPServer } from "smtp-server";
import { simpleParser, type ParsedMail } from "mailparser";
import type { AddressInfo } from "node:net";

/**
 * A real SMTP server for tests (the `smtp-server` package) on 127.0.0.1,
 * plain SMTP (no STARTTLS: nodemailer would refuse its self-signed
 * certificate), with every mail it accepts parsed by `mailparser`. A test
 * can make it refuse mail for a while (451, a temporary failure) or stop
 * listening and start again on the same port.
 */
export interface TestSmtpServer {
  /** smtp://127.0.0.1:<port>, for --smtp-url. */
  url: string;
  /** Every mail accepted, parsed, in order; `receivedAt` is when it was accepted (epoch ms). */
  readonly mails: (ParsedMail & { envelopeTo: string[]; receivedAt: number })[];
  /** Mails refused while `refuse` was set. */
  refused: number;
  /** true: DATA is answered 451 (try again later) and the mail dropped. */
  refuse: boolean;
  /** The mails accepted for `address`. */
  mailsTo(address: string): TestSmtpServer["mails"];
  /** Stops listening (connections refused) until `start`. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startSmtpServer(): Promise<TestSmtpServer> {
  let server: SMTPServer;
  let port = 0;
  const self: TestSmtpServer = {
    url: "",
    mails: [],
    refused: 0,
    refuse: false,
    mailsTo: (address) => self.mails.filter((m) => m.envelopeTo.includes(address.toLowerCase())),
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async start() {
      server = make();
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve());
      });
      port = (server.server.address() as AddressInfo).port;
      self.url = `smtp://127.0.0.1:${port}`;
    },
    close: () => self.stop(),
  };
  const make = () =>
    new SMTPServer({
      disabledCommands: ["STARTTLS", "AUTH"],
      authOptional: true,
      logger: false,
      onData(stream, session, callback) {
        // The whole message is read and parsed before the answer: once the sender hears 250, the mail is in `mails`.
        simpleParser(stream)
          .then((mail) => {
            if (self.refuse) {
              self.refused++;
              callback(Object.assign(new Error("Try again later"), { responseCode: 451 }));
              return;
            }
            self.mails.push(Object.assign(mail, { envelopeTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), receivedAt: Date.now() }));
            callback();
          })
          .catch((err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
      },
    });
  await self.start();
  return self;
}
