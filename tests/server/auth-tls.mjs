// auth-tls.mjs - stock @hocuspocus/provider (yjs 13.6, ws) clients over wss:// against a
// diaryx-server with [tls], for tests/server/auth-tls.sh. The ws client is given the test's
// self-signed certificate as its `ca`; nothing else is trusted. Prints "ok <what>" lines;
// exits 1 with a reason on the first thing that does not happen.
//
//   node auth-tls.mjs edit URL DOC TOKEN CA   two clients edit one Y.Text, see each other's
//                                             edits, and every update is acknowledged
//   node auth-tls.mjs untrusted URL           without the ca the handshake fails
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import fs from "node:fs";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../interop/package.json"));
const Y = require("yjs");
const WebSocket = require("ws");
const { HocuspocusProvider, HocuspocusProviderWebsocket } = require("@hocuspocus/provider");

const [mode, url, name, token, caFile] = process.argv.slice(2);
const fail = (why) => {
    console.error(`FAIL: ${why}`);
    process.exit(1);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, cond, ms = 8000) {
    for (let t = 0; t < ms; t += 20) {
        if (cond()) return;
        await sleep(20);
    }
    fail(`timed out waiting until ${what}`);
}

if (mode === "untrusted") {
    const ws = new WebSocket(url);
    const err = await new Promise((resolve) => {
        ws.on("open", () => resolve(null));
        ws.on("error", (e) => resolve(e));
    });
    if (!err) fail("a client that does not trust the certificate connected");
    console.log(`ok refused without the ca (${err.code || err.message})`);
    process.exit(0);
}

const ca = fs.readFileSync(caFile);
// The provider builds its sockets itself: a WebSocket that always passes the ca.
class TrustingWebSocket extends WebSocket {
    constructor(address, protocols) {
        super(address, protocols, { ca });
    }
}

function client() {
    const doc = new Y.Doc();
    const socket = new HocuspocusProviderWebsocket({ url, WebSocketPolyfill: TrustingWebSocket });
    const c = { doc, socket, denied: null };
    c.provider = new HocuspocusProvider({
        websocketProvider: socket,
        name,
        document: doc,
        token,
        onAuthenticationFailed: ({ reason }) => (c.denied = reason),
    });
    c.provider.attach();
    c.text = doc.getText("body");
    return c;
}

if (mode === "edit") {
    const a = client(), b = client();
    await until("both are synced over wss", () => {
        if (a.denied || b.denied) fail(`denied: ${a.denied || b.denied}`);
        return a.provider.isSynced && b.provider.isSynced;
    });
    console.log("ok synced over wss");
    a.text.insert(0, "over tls");
    await until("b sees a's edit", () => b.text.toString() === "over tls");
    await until("the server acknowledged every update",
        () => a.provider.unsyncedChanges === 0 && b.provider.unsyncedChanges === 0);
    console.log("ok edits relayed and acknowledged");
    for (const c of [a, b]) {
        c.provider.destroy();
        c.socket.destroy();
    }
    process.exit(0);
} else {
    fail(`unknown mode ${mode}`);
}
