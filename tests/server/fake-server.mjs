// fake-server.mjs - a sync server that answers garbage, for tests/server/cli-sync.sh: the HTTP
// API says yes to everything (so login and link go through), the websocket answers each
// document's AUTH with the MODE's bad reply.
//
//   node fake-server.mjs PORT junk        bytes that are no Hocuspocus frame
//   node fake-server.mjs PORT badupdate   AUTHENTICATED, then a step 2 whose update is malformed
//   node fake-server.mjs PORT deny        PERMISSION_DENIED ("token expired")
// The magic-link contract of the server issue, for `sync login --email`: POST /auth/magic-link
// answers 200; GET /auth/verify?token=once-123&device_name=D gives {"token":"session-456"}
// (any other token: 401), and the device name is logged as "device D".
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import http from "node:http";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../interop/package.json"));
const { WebSocketServer } = require("ws");
const [port, mode] = process.argv.slice(2);

const str = (s) => {
    const b = Buffer.from(s, "utf8");
    return Buffer.concat([Buffer.from([b.length]), b]); // names here are < 128 bytes
};
// The document name of a client's frame (a varString at its start; short names only).
const docName = (m) => m.subarray(1, 1 + m[0]).toString("utf8");

const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const json = (status, body) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(body));
    };
    if (url.pathname === "/auth/magic-link" && req.method === "POST") return json(200, { ok: true });
    if (url.pathname === "/auth/verify") {
        console.log(`device ${url.searchParams.get("device_name")}`);
        return url.searchParams.get("token") === "once-123"
            ? json(200, { token: "session-456", device_id: "d1" })
            : json(401, { error: "the link is invalid or expired" });
    }
    if (!req.headers.authorization) return json(401, { error: "no token" });
    json(200, url.pathname.startsWith("/api/workspaces/") ? { id: "x", name: "x" } : []);
});
const wss = new WebSocketServer({ server });
wss.on("connection", (ws) => {
    ws.on("message", (data) => {
        const m = Buffer.from(data);
        const name = docName(m);
        if (mode === "junk") {
            ws.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02]));
        } else if (mode === "deny") {
            ws.send(Buffer.concat([str(name), Buffer.from([2, 1]), str("token expired")]));
        } else if (m[1 + m[0]] === 2) { // badupdate: answer the AUTH, then a broken step 2
            ws.send(Buffer.concat([str(name), Buffer.from([2, 2]), str("read-write")]));
            ws.send(Buffer.concat([str(name), Buffer.from([0, 1, 5, 0x80, 0x80, 0x80, 0x80, 0x80])]));
        }
    });
});
server.listen(Number(port), "127.0.0.1", () => console.log("listening"));
