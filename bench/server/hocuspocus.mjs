// hocuspocus.mjs - the reference server of scripts/bench-server: @hocuspocus/server with its
// SQLite extension, an onAuthenticate that accepts one token, on 127.0.0.1.
//   node hocuspocus.mjs PORT DATABASE TOKEN      serve; prints "ready" once listening
//   node hocuspocus.mjs seed DATABASE DUMP       store the documents of DUMP (lines "name,
//                                                a tab, the state as hex", as written by
//                                                bench_server_load open --dump) in DATABASE
import { Server } from "@hocuspocus/server";
import { SQLite, schema, upsertQuery } from "@hocuspocus/extension-sqlite";
import sqlite3 from "sqlite3";
import fs from "node:fs";

const [first, database, third] = process.argv.slice(2);
if (first === "seed") {
    const db = new sqlite3.Database(database);
    const run = (sql, params) =>
        new Promise((resolve, reject) => db.run(sql, params, (e) => (e ? reject(e) : resolve())));
    await run(schema);
    await run("BEGIN");
    let n = 0;
    for (const line of fs.readFileSync(third, "utf8").split("\n")) {
        if (!line) continue;
        const [name, hex] = line.split("\t");
        await run(upsertQuery, { $name: name, $data: Buffer.from(hex, "hex") });
        n++;
    }
    await run("COMMIT");
    db.close();
    console.log(`seeded ${n} documents`);
} else {
    const server = new Server({
        port: Number(first),
        address: "127.0.0.1",
        quiet: true,
        extensions: [new SQLite({ database })],
        async onAuthenticate({ token }) {
            if (token !== third) throw new Error("permission denied");
        },
    });
    await server.listen();
    console.log("ready");
}
