// read_map.mjs - apply v1 update files with the real yjs and print one root Y.Map as JSON
// (toJSON): proves that what diaryx writes into a document reads back in a yjs peer.
//   node read_map.mjs MAP_NAME UPDATE_FILE...
import {readFileSync} from 'node:fs';
import * as Y from 'yjs';

const [name, ...files] = process.argv.slice(2);
const doc = new Y.Doc();
for (const f of files) Y.applyUpdate(doc, new Uint8Array(readFileSync(f)));
process.stdout.write(JSON.stringify(doc.getMap(name).toJSON()) + '\n');
