// b4.mjs - the B4 figures of bench_ycrdt.c measured with the real yjs (13.6.33, from
// tests/interop/node_modules), in the same way: replay one transaction per edit, state
// size and SHA-256, load the state into a fresh doc, apply the per-edit updates.
// Usage: node bench/node/b4.mjs [TRACE.json.gz] [RUNS]
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '../../tests/interop/package.json'))
const Y = require('yjs')

const trace = process.argv[2] || path.join(here, '../../tests/data/automerge-paper.json.gz')
const runs = Number(process.argv[3] || 3)
const { txns, endContent } = JSON.parse(gunzipSync(readFileSync(trace)).toString())

function replay (clientID, onUpdate) {
  const doc = new Y.Doc()
  doc.clientID = clientID
  if (onUpdate) doc.on('update', onUpdate)
  const text = doc.getText('text')
  const t0 = performance.now()
  for (const { patches } of txns) {
    const [pos, del, ins] = patches[0]
    doc.transact(() => {
      if (del) text.delete(pos, del)
      if (ins) text.insert(pos, ins)
    })
  }
  return { doc, ms: performance.now() - t0 }
}

const median = a => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)]
const times = []
let state
for (let r = 0; r < runs; r++) {
  const { doc, ms } = replay(12345)
  times.push(ms)
  if (r === 0) {
    state = Y.encodeStateAsUpdate(doc)
    if (doc.getText('text').toString() !== endContent) throw new Error('wrong final text')
  }
}
const sha = createHash('sha256').update(state).digest('hex')
console.log(`yjs B4 replay: median ${(median(times) / 1000).toFixed(3)} s over ${runs} runs`)
console.log(`yjs B4 state update, client 12345: ${state.length} bytes, sha256 ${sha}`)
const loads = []
for (let r = 0; r < 5; r++) {
  const d = new Y.Doc()
  const t0 = performance.now()
  Y.applyUpdate(d, state)
  loads.push(performance.now() - t0)
}
console.log(`yjs load of the B4 state: median ${median(loads).toFixed(2)} ms`)
const updates = []
replay(12345, u => updates.push(u))
const d = new Y.Doc()
const t0 = performance.now()
for (const u of updates) Y.applyUpdate(d, u)
console.log(`yjs apply of ${updates.length} per-edit updates: ${((performance.now() - t0) / 1000).toFixed(3)} s`)
