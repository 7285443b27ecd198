// writer.mjs - a raw Hocuspocus client (yjs + lib0 + ws, no provider) for the kill test: it
// authenticates, syncs, then appends "<i>;" to the Y.Text "body" as fast as the server
// acknowledges, one update in flight at a time, and prints "acked <i>" for every SyncStatus 1.
// It stops when the connection drops (the server was killed).
//
//   node writer.mjs URL DOC TOKEN FIRST
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../interop/package.json"));
const Y = require("yjs");
const WebSocket = require("ws");
const encoding = require("lib0/encoding");
const decoding = require("lib0/decoding");

const [url, name, token, first] = process.argv.slice(2);
let next = Number(first);
const doc = new Y.Doc();
const text = doc.getText("body");
const ws = new WebSocket(url);
ws.binaryType = "arraybuffer";

function frame(type, write) {
    const e = encoding.createEncoder();
    encoding.writeVarString(e, name);
    encoding.writeVarUint(e, type);
    write(e);
    return encoding.toUint8Array(e);
}
let inflight = -1;
function sendNext() {
    const before = Y.encodeStateVector(doc);
    text.insert(text.length, `${next};`);
    const update = Y.encodeStateAsUpdate(doc, before);
    inflight = next++;
    ws.send(frame(0, (e) => {
        encoding.writeVarUint(e, 2);
        encoding.writeVarUint8Array(e, update);
    }));
}
ws.on("open", () => {
    ws.send(frame(2, (e) => {
        encoding.writeVarUint(e, 0);
        encoding.writeVarString(e, token);
    }));
    ws.send(frame(0, (e) => {
        encoding.writeVarUint(e, 0);
        encoding.writeVarUint8Array(e, Y.encodeStateVector(doc));
    }));
});
ws.on("message", (data) => {
    const d = decoding.createDecoder(new Uint8Array(data));
    decoding.readVarString(d);
    const type = decoding.readVarUint(d);
    if (type === 0) {
        const kind = decoding.readVarUint(d);
        const payload = decoding.readVarUint8Array(d);
        if (kind === 1) {
            Y.applyUpdate(doc, payload); // the server's state: continue after it
            if (inflight < 0) sendNext();
        }
        // its step 1 needs no answer here: everything this client has, it sends
    } else if (type === 8) {
        if (decoding.readVarUint(d) === 1 && inflight >= 0) {
            console.log(`acked ${inflight}`);
            sendNext();
        }
    } else if (type === 2) {
        const auth = decoding.readVarUint(d);
        if (auth === 1) {
            console.error(`denied: ${decoding.readVarString(d)}`);
            process.exit(1);
        }
    }
});
ws.on("close", () => process.exit(0));
ws.on("error", () => process.exit(0));
