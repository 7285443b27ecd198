// tool_fixtures.mjs DIR - write updates made by the real yjs and what yjs says the results
// of applying them are, for tests/interop/ycrdt_tool.sh.
import { createRequire } from 'node:module'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const Y = createRequire(path.join(here, 'package.json'))('yjs')
const dir = process.argv[2]
const w = (name, bytes) => writeFileSync(path.join(dir, name), bytes)

const a = new Y.Doc(); a.clientID = 11
const b = new Y.Doc(); b.clientID = 22
a.getText('t').insert(0, 'hello 🎉 world')
a.getMap('m').set('k', { n: 1, s: 'x' })
Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
const early = Y.encodeStateVector(b)
a.getText('t').delete(0, 1)
b.getText('t').insert(5, ', dear')
b.getArray('arr').insert(0, [1, 'two', null, true])
w('u1', Y.encodeStateAsUpdate(a))
w('u2', Y.encodeStateAsUpdate(b))
const c = new Y.Doc(); c.clientID = 33
Y.applyUpdate(c, Y.encodeStateAsUpdate(b))
Y.applyUpdate(c, Y.encodeStateAsUpdate(a))
w('expected_state', Y.encodeStateAsUpdate(c))
w('expected_sv', Y.encodeStateVector(c))
w('early_sv', early)
w('expected_diff', Y.encodeStateAsUpdate(c, early))
w('expected_merge', Y.mergeUpdates([Y.encodeStateAsUpdate(a), Y.encodeStateAsUpdate(b)]))
writeFileSync(path.join(dir, 'expected_json'), JSON.stringify({
  t: c.getText('t').toString(), m: c.getMap('m').toJSON(), arr: c.getArray('arr').toJSON()
}) + '\n')
// Rich text for `ycrdt json --delta` (and --text, which stays the plain string).
const r = new Y.Doc(); r.clientID = 44
const rt = r.getText('r')
rt.insert(0, 'plain bold', { bold: true })
rt.format(0, 6, { bold: null })
rt.insertEmbed(10, { image: 'x.png' }, { width: 2 })
w('rich', Y.encodeStateAsUpdate(r))
writeFileSync(path.join(dir, 'expected_rich'),
  JSON.stringify({ r: rt.toDelta() }) + '\n' + JSON.stringify({ r: rt.toString() }) + '\n')
