// worker.mjs - clients for tests/server/worker.sh (the server's worker pool and epochs).
// Prints "ok <what>" lines (and the data asked for); exits 1 with a reason on failure.
//
//   node worker.mjs seed URL WID TOKEN N     a raw client: a root README.md listing N entries
//                                            e<i>.md, each with a body of 40 lines, over one
//                                            socket; prints "entry <id of e0>" when every
//                                            update is acknowledged
//   node worker.mjs ping URL DOC TOKEN SECONDS   appends "p<i>;" to the Y.Text body, one
//                                            update in flight, for SECONDS; prints
//                                            "ack <sent unix ms> <delay ms>" per SyncStatus
//   node worker.mjs holder URL DOC TOKEN FLAG    a stock provider syncs (prints its text),
//                                            disconnects, waits for the file FLAG, connects
//                                            again with its old document and prints the close
//                                            code and reason the server gives it
//   node worker.mjs bad URL DOC TOKEN        a stock provider adds two entries, each the
//                                            other's parent (a state the checks refuse)
//   node worker.mjs fresh URL DOC TOKEN      a new stock provider: prints "epoch N" (the
//                                            Stateless message) and "text <body>"
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import { randomUUID } from "node:crypto";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../interop/package.json"));
const Y = require("yjs");
const WebSocket = require("ws");
const encoding = require("lib0/encoding");
const decoding = require("lib0/decoding");
const { HocuspocusProvider, HocuspocusProviderWebsocket } = require("@hocuspocus/provider");

const [mode, url, name, token, arg] = process.argv.slice(2);
const fail = (why) => {
    console.error(`FAIL: ${why}`);
    process.exit(1);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, cond, ms = 60000) {
    for (let t = 0; t < ms; t += 20) {
        if (cond()) return;
        await sleep(20);
    }
    fail(`timed out waiting until ${what}`);
}

function frame(doc, type, write) {
    const e = encoding.createEncoder();
    encoding.writeVarString(e, doc);
    encoding.writeVarUint(e, type);
    write(e);
    return encoding.toUint8Array(e);
}
const auth = (doc) => frame(doc, 2, (e) => {
    encoding.writeVarUint(e, 0);
    encoding.writeVarString(e, token);
});
const update = (doc, u) => frame(doc, 0, (e) => {
    encoding.writeVarUint(e, 2);
    encoding.writeVarUint8Array(e, u);
});

// A raw socket: acks counted per document, denials fail.
function raw(onAck) {
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    ws.on("message", (data) => {
        const d = decoding.createDecoder(new Uint8Array(data));
        const doc = decoding.readVarString(d);
        const type = decoding.readVarUint(d);
        if (type === 8 && decoding.readVarUint(d) === 1) onAck(doc);
        if (type === 2 && decoding.readVarUint(d) === 1) fail(`denied ${doc}: ${decoding.readVarString(d)}`);
    });
    ws.on("close", (code, reason) => {
        if (!ws.done) fail(`closed: ${code} ${reason}`);
    });
    return ws;
}

if (mode === "seed") {
    const wid = name, n = Number(arg);
    const ids = Array.from({ length: n }, () => randomUUID());
    const root = randomUUID();
    const wsdoc = new Y.Doc();
    const files = wsdoc.getMap("files");
    wsdoc.transact(() => {
        const r = new Y.Map();
        r.set("filename", "README.md");
        r.set("title", "Big");
        r.set("contents", Y.Array.from(ids));
        files.set(root, r);
        ids.forEach((id, i) => {
            const m = new Y.Map();
            m.set("filename", `e${i}.md`);
            m.set("title", `E${i}`);
            m.set("part_of", root);
            files.set(id, m);
        });
    });
    let acked = 0;
    const ws = raw(() => acked++);
    await new Promise((r) => ws.on("open", r));
    const wname = `workspace:${wid}`;
    ws.send(auth(wname));
    ws.send(update(wname, Y.encodeStateAsUpdate(wsdoc)));
    ids.forEach((id, i) => {
        const b = new Y.Doc();
        b.getText("body").insert(0, `line of text ${i}\n`.repeat(40));
        const bname = `body:${wid}/${id}`;
        ws.send(auth(bname));
        ws.send(update(bname, Y.encodeStateAsUpdate(b)));
    });
    await until(`${n + 1} updates are acknowledged (${acked} so far)`, () => acked === n + 1, 300000);
    console.log(`entry ${ids[0]}`);
    ws.done = true;
    ws.close();
} else if (mode === "ping") {
    const doc = new Y.Doc();
    const text = doc.getText("body");
    let i = 0, sent = 0;
    const end = Date.now() + Number(arg) * 1000;
    const ws = raw(async () => {
        console.log(`ack ${sent} ${Date.now() - sent}`);
        if (Date.now() >= end) {
            ws.done = true;
            ws.close();
            return;
        }
        await sleep(20);
        next();
    });
    const next = () => {
        const before = Y.encodeStateVector(doc);
        text.insert(text.length, `p${i++};`);
        sent = Date.now();
        ws.send(update(name, Y.encodeStateAsUpdate(doc, before)));
    };
    ws.on("open", () => {
        ws.send(auth(name));
        next();
    });
} else if (mode === "holder" || mode === "fresh") {
    const doc = new Y.Doc();
    const closes = [];
    let epoch = null;
    const socket = new HocuspocusProviderWebsocket({ url, WebSocketPolyfill: WebSocket });
    socket.on("close", ({ event }) => closes.push(`${event.code} ${event.reason}`));
    const provider = new HocuspocusProvider({
        websocketProvider: socket, name, document: doc, token,
        onStateless: ({ payload }) => {
            const m = JSON.parse(payload);
            if (m.type === "epoch") epoch = m.epoch;
        },
    });
    provider.attach();
    await until("synced", () => provider.isSynced && epoch !== null);
    console.log(`epoch ${epoch}`);
    console.log(`text ${JSON.stringify(doc.getText("body").toString())}`);
    if (mode === "holder") {
        provider.detach();
        socket.disconnect();
        console.log("ok disconnected");
        await until(`${arg} exists`, () => existsSync(arg), 120000);
        const seen = closes.length;
        socket.connect();
        provider.attach();
        await until("the server closes the connection", () => closes.length > seen, 20000);
        console.log(`closed ${closes[seen]}`);
        console.log(`text ${JSON.stringify(doc.getText("body").toString())}`);
    }
    provider.destroy();
    socket.destroy();
    process.exit(0);
} else if (mode === "bad") {
    const doc = new Y.Doc();
    const socket = new HocuspocusProviderWebsocket({ url, WebSocketPolyfill: WebSocket });
    const provider = new HocuspocusProvider({ websocketProvider: socket, name, document: doc, token });
    provider.attach();
    await until("synced", () => provider.isSynced);
    const files = doc.getMap("files");
    const [f, g] = [randomUUID(), randomUUID()];
    doc.transact(() => {
        for (const [id, parent] of [[f, g], [g, f]]) {
            const m = new Y.Map();
            m.set("filename", `${id}.md`);
            m.set("title", "Loop");
            m.set("part_of", parent);
            files.set(id, m);
        }
    });
    await until("the server acknowledged it", () => provider.unsyncedChanges === 0);
    console.log("ok bad");
    provider.destroy();
    socket.destroy();
    process.exit(0);
} else {
    fail(`unknown mode ${mode}`);
}
