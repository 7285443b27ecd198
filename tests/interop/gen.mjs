// gen.mjs - random multi-client editing sessions played with the real yjs 13.6.33, written
// as logs that tests/unit/test_ycrdt_interop.c replays with ycrdt and compares byte for byte.
//
// Usage: node gen.mjs --seeds N --out DIR [--first S] [--ops K]
// Writes DIR/session-<seed>.txt, one event per line (hex = lowercase bytes, no spaces):
//   doc I CLIENT              doc I has client id CLIENT
//   ti I POS HEX              Y.Text "t" insert of the UTF-8 text HEX at UTF-16 offset POS
//   tia I POS HEX ATTRS       the same with an attributes object (JSON; {} means "none")
//   tf I POS LEN ATTRS        Y.Text "t" format (null values remove an attribute)
//   te I POS EMBED ATTRS      Y.Text "t" insertEmbed of the JSON value EMBED (ATTRS "-": none)
//   td I POS LEN              Y.Text "t" delete
//   ms I KEY JSON             Y.Map "m" set KEY to the JSON value
//   md I KEY                  Y.Map "m" delete KEY
//   ai I POS JSON             Y.Array "a" insert of the JSON array's values at POS
//   ad I POS LEN              Y.Array "a" delete
//   nm I KEY                  Y.Map "m" set KEY to a new nested Y.Map
//   ns I KEY SUB JSON         set SUB in the nested Y.Map at m[KEY] (skipped unless it is one)
//   na I KEY                  Y.Map "m" set KEY to a new nested Y.Array
//   np I KEY JSON             push the JSON array's values onto the nested Y.Array at m[KEY]
//   emit I HEX                the update doc I emitted for the previous op ("-" if none)
//   apply I HEX               deliver an update to doc I (late, duplicated or out of order)
//   cleanup I HEX             the update of the formatting cleanup yjs ran after that
//                             apply ("-" if none); it is delivered to the others too
//   delta I JSON              JSON.stringify of doc I's Y.Text "t" toDelta()
//   state I HEX               final encodeStateAsUpdate of doc I
//   sv I HEX                  final state vector of doc I
//   json I JSON               final {"t": text, "m": map, "a": array} of doc I
//   diffu I U SV EXPECTED     Y.diffUpdate(U, SV) must be EXPECTED (doc-free)
//   svu I U EXPECTED          Y.encodeStateVectorFromUpdate(U) must be EXPECTED
//   merge I EXPECTED U...     Y.mergeUpdates([U...]) must be EXPECTED
import { createRequire } from 'node:module'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, 'package.json'))
const Y = require('yjs')

const args = process.argv.slice(2)
const opt = (name, def) => {
  const i = args.indexOf('--' + name)
  return i >= 0 ? args[i + 1] : def
}
const seeds = Number(opt('seeds', 100))
const first = Number(opt('first', 1))
const opsPerSession = Number(opt('ops', 60))
const out = opt('out', '.')
mkdirSync(out, { recursive: true })

// mulberry32: a small seeded PRNG so every session is reproducible.
function prng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const hex = u => Buffer.from(u).toString('hex')
// JSON of a value as the log carries it: like JSON.stringify, but -0 stays "-0" (which
// JSON.stringify writes as "0") so the replay stores the same number.
const NEG0 = 'neg-zero-3f9c'
const js = v => JSON.stringify(v, (k, x) => Object.is(x, -0) ? NEG0 : x).replaceAll(`"${NEG0}"`, '-0')
const WORDS = ['a', 'hello', ' ', 'é', '🎉', 'x y', '\n', 'ünï', '𝄞', 'long word here', '"q"']
const CLIENT_SETS = [[1, 2], [1, 2, 3], [7, 4294967295], [2, 1000000007, 3], [300, 5]]

function session (seed) {
  const rnd = prng(seed)
  const pick = a => a[Math.floor(rnd() * a.length)]
  const int = n => Math.floor(rnd() * n)
  const lines = []
  const clients = pick(CLIENT_SETS)
  const docs = clients.map((c, i) => {
    const d = new Y.Doc()
    d.clientID = c
    // Create the root types now: a text first met in an update and typed later loses
    // yjs's _hasFormatting flag (a yjs quirk the C side does not model).
    d.getText('t'); d.getMap('m'); d.getArray('a')
    lines.push(`doc ${i} ${c}`)
    return d
  })
  const inbox = docs.map(() => [])
  let emitted = null
  docs.forEach((d, i) => d.on('update', (u, origin) => {
    if (origin === 'remote') return
    // A local op, or the formatting cleanup yjs runs after applying a remote update.
    emitted = u
    docs.forEach((_, j) => { if (j !== i) inbox[j].push(u) })
  }))
  const ATTR_KEYS = ['bold', 'italic', 'color', 'link', '1']
  const attrValue = key => {
    if (rnd() < 0.25) return null
    switch (key) {
      case 'bold': case 'italic': return rnd() < 0.8 ? true : pick([false, 1])
      case 'color': return pick(['red', 'blue', '#0a0', 'é"'])
      case 'link': return rnd() < 0.5 ? { href: pick(['a', 'b']) } : pick(['x', 2.5])
      default: return pick([1, 2, 'one', 1e-7])
    }
  }
  const attrs = () => {
    const o = {}
    const n = int(3)
    for (let k = 0; k < n; k++) { const key = pick(ATTR_KEYS); o[key] = attrValue(key) }
    return o
  }
  const EMBEDS = [{ image: 'x.png' }, { formula: 'e=mc^2', 2: [1, null] }, [1, 'two'], true, 42, 0.5]
  const value = () => {
    switch (int(9)) {
      case 0: return int(1000)
      case 1: return rnd() * 100 - 50
      case 2: return pick(WORDS)
      case 3: return rnd() < 0.5
      case 4: return null
      case 5: return { k: int(10), s: pick(WORDS), n: [1, 'two', null] }
      // -0 (as JSON.parse('-0') gives it): yjs writes it as the varInt -0, byte 0x40.
      case 6: return -0
      case 7: return { z: -0, n: [-0, 0, 2] }
      default: return [int(5), pick(WORDS)]
    }
  }
  const deliver = (j, u) => {
    lines.push(`apply ${j} ${hex(u)}`)
    emitted = null
    Y.applyUpdate(docs[j], u, 'remote')
    lines.push(`cleanup ${j} ${emitted ? hex(emitted) : '-'}`)
    emitted = null
  }
  const midSV = []
  const localUpdates = []
  for (let step = 0; step < opsPerSession; step++) {
    if (step === opsPerSession >> 1) docs.forEach(d => midSV.push(Y.encodeStateVector(d)))
    const i = int(docs.length)
    const d = docs[i]
    const t = d.getText('t'); const m = d.getMap('m'); const a = d.getArray('a')
    emitted = null
    const r = rnd()
    if (r < 0.22) {
      const pos = int(t.length + 1)
      const s = pick(WORDS)
      lines.push(`ti ${i} ${pos} ${hex(Buffer.from(s))}`)
      t.insert(pos, s)
    } else if (r < 0.3) {
      const pos = int(t.length + 1)
      const s = pick(WORDS)
      const at = attrs()
      lines.push(`tia ${i} ${pos} ${hex(Buffer.from(s))} ${JSON.stringify(at)}`)
      t.insert(pos, s, at)
    } else if (r < 0.38 && t.length > 0) {
      const pos = int(t.length)
      // Now and then past the end: yjs then appends newlines.
      const len = 1 + int(rnd() < 0.05 ? t.length - pos + 2 : Math.min(8, t.length - pos))
      const at = attrs()
      lines.push(`tf ${i} ${pos} ${len} ${JSON.stringify(at)}`)
      t.format(pos, len, at)
    } else if (r < 0.41) {
      const pos = int(t.length + 1)
      const e = pick(EMBEDS)
      const at = rnd() < 0.5 ? attrs() : undefined
      lines.push(`te ${i} ${pos} ${JSON.stringify(e)} ${at ? JSON.stringify(at) : '-'}`)
      t.insertEmbed(pos, JSON.parse(JSON.stringify(e)), at)
    } else if (r < 0.52 && t.length > 0) {
      const pos = int(t.length)
      const len = 1 + int(Math.min(4, t.length - pos))
      lines.push(`td ${i} ${pos} ${len}`)
      t.delete(pos, len)
    } else if (r < 0.62) {
      const key = pick(['k1', 'k2', 'k3', 'title'])
      const v = value()
      lines.push(`ms ${i} ${key} ${js(v)}`)
      m.set(key, v)
    } else if (r < 0.66) {
      const key = pick(['k1', 'k2', 'k3', 'title'])
      lines.push(`md ${i} ${key}`)
      m.delete(key)
    } else if (r < 0.73) {
      // Nested types, as the workspace document uses them (entries as maps, contents as arrays).
      const key = pick(['n1', 'n2'])
      const cur = m.get(key)
      if (cur instanceof Y.Map && rnd() < 0.7) {
        const sub = pick(['title', 'part_of', 'x'])
        const v = value()
        lines.push(`ns ${i} ${key} ${sub} ${js(v)}`)
        cur.set(sub, v)
      } else if (cur instanceof Y.Array && rnd() < 0.7) {
        const vals = [pick(WORDS), int(9)]
        lines.push(`np ${i} ${key} ${JSON.stringify(vals)}`)
        cur.push(vals)
      } else if (rnd() < 0.5) {
        lines.push(`nm ${i} ${key}`)
        m.set(key, new Y.Map())
      } else {
        lines.push(`na ${i} ${key}`)
        m.set(key, new Y.Array())
      }
    } else if (r < 0.8) {
      const pos = int(a.length + 1)
      const vals = Array.from({ length: 1 + int(3) }, value)
      lines.push(`ai ${i} ${pos} ${js(vals)}`)
      a.insert(pos, vals)
    } else if (r < 0.85 && a.length > 0) {
      const pos = int(a.length)
      const len = 1 + int(Math.min(3, a.length - pos))
      lines.push(`ad ${i} ${pos} ${len}`)
      a.delete(pos, len)
    } else {
      // Deliver something: a random queued update (out of order), sometimes twice.
      const j = int(docs.length)
      if (inbox[j].length) {
        const k = int(inbox[j].length)
        const u = inbox[j][k]
        if (rnd() < 0.8) inbox[j].splice(k, 1)
        deliver(j, u)
        // Sometimes check the state mid-session, pending structs and deletes included.
        if (rnd() < 0.3) {
          lines.push(`state ${j} ${hex(Y.encodeStateAsUpdate(docs[j]))}`)
          lines.push(`delta ${j} ${JSON.stringify(docs[j].getText('t').toDelta())}`)
        }
      }
      continue
    }
    lines.push(`emit ${i} ${emitted ? hex(emitted) : '-'}`)
    if (emitted) localUpdates.push(emitted)
  }
  // Deliver everything left, in a random order.
  for (let j = 0; j < docs.length; j++) {
    while (inbox[j].length) {
      const k = int(inbox[j].length)
      const u = inbox[j].splice(k, 1)[0]
      deliver(j, u)
    }
  }
  const full = Y.encodeStateAsUpdate(docs[0])
  midSV.forEach((sv, i) => {
    lines.push(`diffu ${i} ${hex(full)} ${hex(sv)} ${hex(Y.diffUpdate(full, sv))}`)
  })
  if (localUpdates.length) {
    const u = pick(localUpdates)
    const sv = pick(midSV)
    lines.push(`diffu 0 ${hex(u)} ${hex(sv)} ${hex(Y.diffUpdate(u, sv))}`)
    lines.push(`svu 0 ${hex(u)} ${hex(Y.encodeStateVectorFromUpdate(u))}`)
  }
  lines.push(`svu 0 ${hex(full)} ${hex(Y.encodeStateVectorFromUpdate(full))}`)
  // mergeUpdates of every local update (in emit order), and of a shuffled half of them.
  if (localUpdates.length > 1) {
    lines.push(`merge 0 ${hex(Y.mergeUpdates(localUpdates))} ${localUpdates.map(hex).join(' ')}`)
    const some = localUpdates.filter(() => rnd() < 0.5)
    for (let k = some.length - 1; k > 0; k--) {
      const j = int(k + 1); [some[k], some[j]] = [some[j], some[k]]
    }
    if (some.length > 1) lines.push(`merge 0 ${hex(Y.mergeUpdates(some))} ${some.map(hex).join(' ')}`)
  }
  docs.forEach((d, i) => {
    lines.push(`state ${i} ${hex(Y.encodeStateAsUpdate(d))}`)
    lines.push(`sv ${i} ${hex(Y.encodeStateVector(d))}`)
    lines.push(`json ${i} ${JSON.stringify({ t: d.getText('t').toString(), m: d.getMap('m').toJSON(), a: d.getArray('a').toJSON() })}`)
    lines.push(`delta ${i} ${JSON.stringify(d.getText('t').toDelta())}`)
  })
  writeFileSync(path.join(out, `session-${seed}.txt`), lines.join('\n') + '\n')
}

// -0 as a float64 and as a float32 on the wire (yjs writes neither, another encoder may):
// yjs reads both as -0 and writes them again as the varInt -0 when it re-encodes the
// struct (state update, merge, diff). The update is made by yjs with 1.1 (float64) and
// 1.5 (float32) map values, whose bytes are then replaced by those of -0.
function negativeZeroOnTheWire () {
  const lines = []
  const a = new Y.Doc(); a.clientID = 1
  const b = new Y.Doc(); b.clientID = 2
  b.getText('t'); b.getMap('m'); b.getArray('a')
  lines.push('doc 0 1', 'doc 1 2')
  let u = null
  a.on('update', x => { u = x })
  a.transact(() => { a.getMap('m').set('f64', 1.1); a.getMap('m').set('f32', 1.5); a.getArray('a').push([-0, 2.5]) })
  const h = hex(u)
  const f64 = '7b' + Buffer.from(new Float64Array([1.1]).buffer).reverse().toString('hex')
  const f32 = '7c' + Buffer.from(new Float32Array([1.5]).buffer).reverse().toString('hex')
  if (!h.includes(f64) || !h.includes(f32)) throw new Error('float bytes not found in ' + h)
  const w = Buffer.from(h.replace(f64, '7b8000000000000000').replace(f32, '7c80000000'), 'hex')
  lines.push(`apply 1 ${hex(w)}`)
  Y.applyUpdate(b, w, 'remote')
  lines.push('cleanup 1 -')
  const c = new Y.Doc(); c.clientID = 3
  c.getMap('m').set('x', -0)
  const u2 = Y.encodeStateAsUpdate(c)
  lines.push(`merge 0 ${hex(Y.mergeUpdates([w, u2]))} ${hex(w)} ${hex(u2)}`)
  lines.push(`diffu 0 ${hex(w)} 00 ${hex(Y.diffUpdate(w, new Uint8Array([0])))}`)
  lines.push(`state 1 ${hex(Y.encodeStateAsUpdate(b))}`)
  lines.push(`json 1 ${JSON.stringify({ t: b.getText('t').toString(), m: b.getMap('m').toJSON(), a: b.getArray('a').toJSON() })}`)
  writeFileSync(path.join(out, 'session-negative-zero.txt'), lines.join('\n') + '\n')
}

for (let s = first; s < first + seeds; s++) session(s)
negativeZeroOnTheWire()
