// hocuspocus_provider.mjs - the stock @hocuspocus/provider over a websocket that this script
// plays the server side of, for the codec's differential test (tests/unit/test_hocuspocus.c).
//
//   node hocuspocus_provider.mjs DOCUMENT TOKEN HEXFRAME...
//
// The provider opens DOCUMENT with TOKEN; every frame it sends is printed as "sent <hex>".
// Then each HEXFRAME is delivered to it as a message from the server, in order. Afterwards it
// inserts "!" at the end of its Y.Text "t" (an update frame follows) and the script prints
// "status <authenticated> <synced>", "text <the text>" and "unsynced <n>".
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const Y = require("yjs");
const { HocuspocusProvider, HocuspocusProviderWebsocket } = require("@hocuspocus/provider");

const [name, token, ...frames] = process.argv.slice(2);
const hex = (u8) => Buffer.from(u8).toString("hex");
const tick = () => new Promise((r) => setTimeout(r, 20));

let socket = null;
class FakeSocket {
    constructor(url) {
        this.url = url;
        this.readyState = 0;
        this.listeners = {};
        socket = this;
    }
    addEventListener(kind, fn) {
        (this.listeners[kind] ||= []).push(fn);
    }
    removeEventListener(kind, fn) {
        this.listeners[kind] = (this.listeners[kind] || []).filter((f) => f !== fn);
    }
    emit(kind, payload) {
        for (const fn of this.listeners[kind] || []) fn(payload);
    }
    send(data) {
        console.log(`sent ${hex(new Uint8Array(data))}`);
    }
    close() {
        this.readyState = 3;
    }
}

const doc = new Y.Doc();
const ws = new HocuspocusProviderWebsocket({
    url: "ws://127.0.0.1:1/sync",
    WebSocketPolyfill: FakeSocket,
    messageReconnectTimeout: 60000,
});
const provider = new HocuspocusProvider({ websocketProvider: ws, name, document: doc, token });
provider.attach(); // a provider given its websocket attaches when told to
provider.awareness.setLocalStateField("user", { name: "tester" });

for (let i = 0; i < 50 && !socket; i++) await tick();
if (!socket) {
    console.error("the provider opened no websocket");
    process.exit(1);
}
socket.readyState = 1;
socket.emit("open", {});
await tick();
for (const f of frames) {
    const u8 = Buffer.from(f, "hex");
    socket.emit("message", { data: u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.length) });
    await tick();
}
const t = doc.getText("t");
t.insert(t.length, "!");
await tick();
console.log(`status ${provider.isAuthenticated ? 1 : 0} ${provider.isSynced ? 1 : 0}`);
console.log(`text ${t.toString()}`);
console.log(`unsynced ${provider.unsyncedChanges}`);
provider.destroy();
ws.destroy();
process.exit(0);
