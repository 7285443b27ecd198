// limits.mjs - raw websocket clients against diaryx-server, each breaking one limit; prints
// "ok <what> <close code>" when the server closes the connection with the expected code.
//
//   node limits.mjs URL TOKEN DOC
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../interop/package.json"));
const WebSocket = require("ws");
const encoding = require("lib0/encoding");

const [url, token, doc, mode, doc2] = process.argv.slice(2);
const frame = (name, type, write) => {
    const e = encoding.createEncoder();
    encoding.writeVarString(e, name);
    encoding.writeVarUint(e, type);
    write?.(e);
    return encoding.toUint8Array(e);
};
const auth = (name) => frame(name, 2, (e) => { encoding.writeVarUint(e, 0); encoding.writeVarString(e, token); });

if (mode === "evict") {
    // With --max-workspaces 1: a client on a second workspace makes the server close the
    // connection of the first (4205); the second stays open.
    const open = (name) => new Promise((resolve) => {
        const ws = new WebSocket(url);
        const c = { ws, closed: null, authed: false };
        ws.on("open", () => ws.send(auth(name)));
        ws.on("message", (d) => { if (new Uint8Array(d).includes(2)) c.authed = true; resolve(c); });
        ws.on("close", (code) => { c.closed = code; resolve(c); });
        ws.on("error", () => {});
    });
    const a = await open(doc);
    const b = await open(doc2);
    for (let t = 0; t < 100 && a.closed === null; t++) await new Promise((r) => setTimeout(r, 20));
    console.log(a.closed === 4205 && b.closed === null && b.authed ? "ok evicted 4205"
        : `FAIL evict: first closed with ${a.closed}, second closed with ${b.closed}`);
    a.ws.terminate();
    b.ws.terminate();
    process.exit(0);
}
if (mode === "rate") {
    // Four new websockets in a row from one address: with --connections-per-minute 3, the
    // fourth is refused (the upgrade fails) and the first three stay open.
    const outcomes = [];
    for (let i = 0; i < 4; i++)
        outcomes.push(await new Promise((resolve) => {
            const ws = new WebSocket(url);
            ws.on("open", () => resolve({ ws, ok: true }));
            ws.on("error", () => resolve({ ws, ok: false }));
        }));
    const opened = outcomes.filter((o) => o.ok).length;
    console.log(opened === 3 && !outcomes[3].ok ? "ok rate 3 of 4 opened" : `FAIL rate: ${opened} of 4 opened`);
    outcomes.forEach((o) => o.ws.terminate());
    process.exit(0);
}

function expectClose(what, code, act, ms = 8000) {
    return new Promise((resolve) => {
        const ws = new WebSocket(url, { maxPayload: 64 << 20 });
        const timer = setTimeout(() => {
            console.log(`FAIL ${what}: not closed within ${ms} ms`);
            ws.terminate();
            resolve(false);
        }, ms);
        ws.on("open", () => act(ws));
        ws.on("error", () => {});
        ws.on("close", (got) => {
            clearTimeout(timer);
            if (got === code) console.log(`ok ${what} ${got}`);
            else console.log(`FAIL ${what}: closed with ${got}, expected ${code}`);
            resolve(got === code);
        });
    });
}

const results = [];
results.push(await expectClose("silent connection", 4408, () => {}));
results.push(await expectClose("chatty but never authenticated", 4408, (ws) => {
    const t = setInterval(() => ws.readyState === 1 ? ws.send(frame(doc, 3)) : clearInterval(t), 100);
}));
results.push(await expectClose("message over 16 MiB", 1009, (ws) => ws.send(Buffer.alloc((16 << 20) + 1024))));
results.push(await expectClose("malformed frame", 4205, (ws) => ws.send(Buffer.from([0x05, 0x61]))));
results.push(await expectClose("101 documents waiting for a token", 4205, (ws) => {
    for (let i = 0; i <= 100; i++) ws.send(frame(`workspace:doc-${i}`, 3));
}));
// One frame at a time: a client still sending when the server closes may see its socket
// reset (1006) before the close frame arrives.
results.push(await expectClose("over 5 MiB queued before the token", 4205, (ws) => {
    let i = 0;
    const next = () => {
        if (ws.readyState !== 1 || i++ >= 6) return;
        ws.send(frame(doc, 0, (e) => { encoding.writeVarUint(e, 2); encoding.writeVarUint8Array(e, new Uint8Array(1 << 20)); }), () => setTimeout(next, 50));
    };
    next();
}));
results.push(await expectClose("malformed update after authenticating", 4205, (ws) => {
    ws.send(auth(doc));
    ws.send(frame(doc, 0, (e) => { encoding.writeVarUint(e, 2); encoding.writeVarUint8Array(e, Uint8Array.from([1, 1, 0xff, 0xff, 0xff, 0x0f, 4, 9, 9])); }));
}));
results.push(await expectClose("BroadcastStateless from a client", 4205, (ws) => {
    ws.send(auth(doc));
    ws.send(frame(doc, 6, (e) => encoding.writeVarString(e, "{}")));
}));
process.exit(results.every(Boolean) ? 0 : 1);
