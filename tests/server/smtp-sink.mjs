// smtp-sink.mjs - a tiny SMTP server for tests/server/auth-smtp.sh: it speaks enough SMTP for
// libcurl (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS) and saves each mail
// as DIR/<n>.eml, with the envelope and the credentials of AUTH PLAIN as X-Sink-* lines
// before it. It listens on 127.0.0.1 on a free port, which it writes to DIR/port.
//
//   node smtp-sink.mjs DIR
import net from "node:net";
import fs from "node:fs";
import path from "node:path";

const dir = process.argv[2];
let count = 0;

const server = net.createServer((sock) => {
    let buf = "", data = null, from = "", rcpt = [], auth = "", authNext = false;
    const plain = (b64) => Buffer.from(b64, "base64").toString("latin1").split("\0").slice(1).join(":");
    const say = (line) => sock.write(line + "\r\n");
    say("220 smtp-sink ready");
    sock.on("data", (chunk) => {
        buf += chunk.toString("latin1");
        for (;;) {
            if (data !== null) {
                const end = buf.indexOf("\r\n.\r\n");
                if (end < 0) return;
                data += buf.slice(0, end + 2);
                buf = buf.slice(end + 5);
                const text = data.replace(/^\.\./gm, "."); // undo dot-stuffing
                const head = `X-Sink-From: ${from}\r\nX-Sink-To: ${rcpt.join(",")}\r\n` +
                    `X-Sink-Auth: ${auth}\r\n`;
                count++;
                // Written whole under a temporary name, then renamed: a reader sees all or nothing.
                const file = path.join(dir, `${count}.eml`);
                fs.writeFileSync(file + ".tmp", head + text, "latin1");
                fs.renameSync(file + ".tmp", file);
                data = null;
                say("250 2.0.0 saved");
                continue;
            }
            const nl = buf.indexOf("\r\n");
            if (nl < 0) return;
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 2);
            const verb = line.split(" ")[0].toUpperCase();
            if (authNext) { // the credentials after "334"
                authNext = false;
                auth = plain(line);
                say("235 2.7.0 accepted");
            } else if (verb === "EHLO" || verb === "HELO") {
                sock.write("250-smtp-sink\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n");
            } else if (verb === "AUTH") {
                const [, mech, arg] = line.split(" ");
                if (mech !== "PLAIN") { say("504 only AUTH PLAIN"); continue; }
                if (!arg) { authNext = true; say("334 "); continue; }
                auth = plain(arg);
                say("235 2.7.0 accepted");
            } else if (verb === "MAIL") {
                from = line.slice(10).trim();
                rcpt = [];
                say("250 2.1.0 ok");
            } else if (verb === "RCPT") {
                rcpt.push(line.slice(8).trim());
                say("250 2.1.5 ok");
            } else if (verb === "DATA") {
                data = "";
                say("354 end with <CRLF>.<CRLF>");
            } else if (verb === "RSET" || verb === "NOOP") {
                say("250 ok");
            } else if (verb === "QUIT") {
                say("221 bye");
                sock.end();
                return;
            } else {
                say("502 not implemented");
            }
        }
    });
    sock.on("error", () => {});
});
server.listen(0, "127.0.0.1", () => {
    fs.writeFileSync(path.join(dir, "port"), String(server.address().port));
});
process.on("SIGTERM", () => process.exit(0));
