// providers.mjs - stock @hocuspocus/provider clients (yjs 13.6, ws) against a running
// diaryx-server, for tests/server/sync.sh. Prints "ok <what>" lines; exits 1 with a reason on
// the first thing that does not happen.
//
//   node providers.mjs edit  URL DOC TOKEN   two clients edit one Y.Text and see each other
//   node providers.mjs read  URL DOC TOKEN TEXT   a new client finds TEXT in the document
//   node providers.mjs denied URL DOC TOKEN   the server refuses the document
//   node providers.mjs dump  URL DOC TOKEN   print the document's text
//   node providers.mjs seed  URL DOC TOKEN ROOT ENTRY   a workspace document with a root
//                                            index ROOT (README.md) listing ENTRY (day.md)
//   node providers.mjs hold  URL DOC TOKEN SECONDS   append a line, then stay connected
//   node providers.mjs await URL DOC TOKEN TEXT  stay connected until the text becomes TEXT
//   node providers.mjs readonly URL DOC TOKEN TEXT  a read-only token: the document (TEXT)
//                                            comes down, an edit is refused (SyncStatus 0)
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../interop/package.json"));
const Y = require("yjs");
const WebSocket = require("ws");
const { HocuspocusProvider, HocuspocusProviderWebsocket } = require("@hocuspocus/provider");

const [mode, url, name, token, expected, extra] = process.argv.slice(2);
const fail = (why) => {
    console.error(`FAIL: ${why}`);
    process.exit(1);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, cond, ms = 5000) {
    for (let t = 0; t < ms; t += 20) {
        if (cond()) return;
        await sleep(20);
    }
    fail(`timed out waiting until ${what}`);
}

function client(label) {
    const doc = new Y.Doc();
    const socket = new HocuspocusProviderWebsocket({ url, WebSocketPolyfill: WebSocket });
    const c = { doc, socket, denied: null, authenticated: false };
    c.provider = new HocuspocusProvider({
        websocketProvider: socket,
        name,
        document: doc,
        token,
        onAuthenticated: () => (c.authenticated = true),
        onAuthenticationFailed: ({ reason }) => (c.denied = reason),
    });
    c.provider.attach();
    c.text = doc.getText("body");
    c.label = label;
    return c;
}

function close(...cs) {
    for (const c of cs) {
        c.provider.destroy();
        c.socket.destroy();
    }
}

if (mode === "edit") {
    const a = client("a"), b = client("b");
    await until("both are synced", () => a.provider.isSynced && b.provider.isSynced);
    console.log("ok synced");
    a.text.insert(0, "hello");
    await until("b sees a's edit", () => b.text.toString() === "hello");
    b.text.insert(5, " world");
    await until("a sees b's edit", () => a.text.toString() === "hello world");
    console.log("ok edits relayed");
    // Every update was acknowledged once stored (SyncStatus): nothing is left unsynced.
    await until("the server acknowledged every update",
        () => a.provider.unsyncedChanges === 0 && b.provider.unsyncedChanges === 0);
    console.log("ok acknowledged");
    a.provider.awareness.setLocalStateField("user", { name: "alice" });
    await until("b sees a's awareness", () =>
        [...b.provider.awareness.getStates().values()].some((s) => s.user?.name === "alice"));
    console.log("ok awareness relayed");
    close(a);
    await until("b learns that a left", () =>
        ![...b.provider.awareness.getStates().values()].some((s) => s.user?.name === "alice"));
    console.log("ok awareness removed");
    close(b);
} else if (mode === "read") {
    const c = client("c");
    await until("synced", () => c.provider.isSynced);
    if (c.text.toString() !== expected) fail(`the document holds '${c.text.toString()}'`);
    console.log("ok read");
    close(c);
} else if (mode === "seed") {
    const c = client("s");
    await until("synced", () => c.provider.isSynced);
    const files = c.doc.getMap("files");
    c.doc.transact(() => {
        const root = new Y.Map();
        root.set("filename", "README.md");
        root.set("title", "Journal");
        root.set("contents", Y.Array.from([extra]));
        files.set(expected, root);
        const day = new Y.Map();
        day.set("filename", "day.md");
        day.set("title", "Day");
        day.set("part_of", expected);
        files.set(extra, day);
    });
    await until("the server acknowledged it", () => c.provider.unsyncedChanges === 0);
    console.log("ok seeded");
    close(c);
} else if (mode === "hold") {
    const c = client("h");
    await until("synced", () => c.provider.isSynced);
    c.text.insert(c.text.length, "held line\n");
    await until("the server acknowledged it", () => c.provider.unsyncedChanges === 0);
    await sleep(Number(expected) * 1000);
    console.log("ok held");
    close(c);
} else if (mode === "readonly") {
    const c = client("r");
    await until("synced", () => c.provider.isSynced);
    if (c.provider.authorizedScope !== "readonly") fail(`scope '${c.provider.authorizedScope}', not readonly`);
    if (c.text.toString() !== expected) fail(`the document holds '${c.text.toString()}'`);
    console.log("ok read-only scope, document down");
    c.text.insert(0, "not allowed ");
    await sleep(500);
    if (c.provider.unsyncedChanges === 0) fail("the server acknowledged a read-only edit");
    console.log("ok edit not acknowledged");
    close(c);
} else if (mode === "await") {
    const c = client("w");
    await until("synced", () => c.provider.isSynced);
    console.log("ok connected");
    await until(`the text becomes '${expected}' (it is '${c.text.toString()}')`,
        () => c.text.toString() === expected, 15000);
    console.log("ok the text came back");
    close(c);
} else if (mode === "dump") {
    const c = client("e");
    await until("synced", () => c.provider.isSynced);
    process.stdout.write(c.text.toString());
    close(c);
} else if (mode === "denied") {
    const c = client("d");
    await until("the server refuses", () => c.denied !== null || c.authenticated);
    if (c.authenticated) fail("the server let the client in");
    if (c.text.toString() !== "") fail("the client received document content");
    console.log(`ok denied (${c.denied})`);
    close(c);
} else {
    fail(`unknown mode '${mode}'`);
}
await sleep(100);
process.exit(0);
