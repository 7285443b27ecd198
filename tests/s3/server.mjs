// server.mjs - a small S3-compatible test server that VERIFIES AWS Signature Version 4
// (Authorization header and presigned query) and the payload hash (x-amz-content-sha256)
// of every request; Node built-ins only. It keeps objects in memory, path-style buckets
// (/BUCKET/KEY), any bucket name.
//
//   node server.mjs [--port N] [--access KEY] [--secret SECRET] [--region R] [--max-keys N]
//
// Prints {"port": N} on its first line once listening. Operations: PUT object, HEAD, GET
// (Range), DELETE, multipart (POST ?uploads, PUT ?partNumber&uploadId, POST ?uploadId,
// DELETE ?uploadId), ListObjectsV2 (GET /BUCKET?list-type=2&prefix=&continuation-token=).
// A request that is unsigned, signed with another key or secret, or whose body does not hash
// to its x-amz-content-sha256 is refused (403 SignatureDoesNotMatch / InvalidAccessKeyId,
// 400 XAmzContentSHA256Mismatch) and changes nothing.
import crypto from 'node:crypto';
import http from 'node:http';

const arg = (name, def) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : def;
};
const ACCESS = arg('--access', 'AKIDTEST');
const SECRET = arg('--secret', 'test-secret');
const REGION = arg('--region', 'us-east-1');
const MAX_KEYS = Number(arg('--max-keys', '1000'));
const PORT = Number(arg('--port', '0'));

const objects = new Map(); // "bucket/key" -> Buffer
const uploads = new Map(); // uploadId -> {name, parts: Map(partNumber -> Buffer)}
let nextUpload = 1;

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
const hmac = (k, s) => crypto.createHmac('sha256', k).update(s).digest();
const xmlEsc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function reply(res, status, code, message, extra = {}) {
    const body = code
        ? `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEsc(message)}</Message></Error>`
        : message || '';
    res.writeHead(status, {'Content-Length': Buffer.byteLength(body), ...extra});
    res.end(body);
}

function canonicalQuery(raw, drop) {
    if (!raw) return '';
    return raw.split('&').filter((p) => p && p.split('=')[0] !== drop)
        .map((p) => (p.includes('=') ? p : p + '='))
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
        .join('&');
}

function signature(method, path, query, headers, signed, payloadHash, date, scope, secret = SECRET) {
    const canon = [method, path, query,
        signed.map((h) => `${h}:${String(headers[h] ?? '').trim().replace(/\s+/g, ' ')}\n`).join(''),
        signed.join(';'), payloadHash].join('\n');
    const sts = ['AWS4-HMAC-SHA256', date, scope.join('/'), sha256(canon)].join('\n');
    let k = hmac('AWS4' + secret, scope[0]);
    k = hmac(k, scope[1]);
    k = hmac(k, scope[2]);
    k = hmac(k, 'aws4_request');
    return hmac(k, sts).toString('hex');
}

const same = (a, b) => a.length === b.length && crypto.timingSafeEqual(Buffer.from(a), Buffer.from(b));

// null when the request is authentic, else [status, code, message].
function verify(req, path, rawQuery, body) {
    const q = new URLSearchParams(rawQuery);
    if (q.get('X-Amz-Signature')) { // presigned
        const cred = (q.get('X-Amz-Credential') || '').split('/');
        const date = q.get('X-Amz-Date') || '';
        if (cred[0] !== ACCESS) return [403, 'InvalidAccessKeyId', 'unknown access key'];
        const t = Date.UTC(+date.slice(0, 4), +date.slice(4, 6) - 1, +date.slice(6, 8),
            +date.slice(9, 11), +date.slice(11, 13), +date.slice(13, 15));
        if (Date.now() > t + Number(q.get('X-Amz-Expires')) * 1000)
            return [403, 'AccessDenied', 'Request has expired'];
        const signed = (q.get('X-Amz-SignedHeaders') || '').split(';');
        const want = signature(req.method, path, canonicalQuery(rawQuery, 'X-Amz-Signature'),
            req.headers, signed, 'UNSIGNED-PAYLOAD', date, cred.slice(1, 5));
        return same(want, q.get('X-Amz-Signature')) ? null
            : [403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match'];
    }
    const auth = req.headers.authorization || '';
    const m = /^AWS4-HMAC-SHA256 Credential=([^,]+),\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) return [403, 'AccessDenied', 'a SigV4 Authorization header is required'];
    const cred = m[1].split('/');
    if (cred[0] !== ACCESS) return [403, 'InvalidAccessKeyId', 'unknown access key'];
    if (cred[2] !== REGION || cred[3] !== 's3' || cred[4] !== 'aws4_request')
        return [403, 'SignatureDoesNotMatch', 'wrong credential scope'];
    const signed = m[2].split(';');
    for (const h of ['host', 'x-amz-content-sha256', 'x-amz-date'])
        if (!signed.includes(h)) return [403, 'AccessDenied', `${h} must be signed`];
    const date = req.headers['x-amz-date'] || '';
    if (date.slice(0, 8) !== cred[1]) return [403, 'SignatureDoesNotMatch', 'date and scope differ'];
    const ph = req.headers['x-amz-content-sha256'];
    if (!/^[0-9a-f]{64}$/.test(ph || ''))
        return [400, 'InvalidArgument', 'x-amz-content-sha256 must be the hex SHA-256 of the body'];
    const want = signature(req.method, path, canonicalQuery(rawQuery), req.headers, signed, ph,
        date, cred.slice(1, 5));
    if (!same(want, m[3]))
        return [403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match'];
    if (sha256(body) !== ph)
        return [400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed."];
    return null;
}

// What the tests ask of the server itself (unsigned, not S3): GET /__stats counts the
// multipart parts stored and the uploads completed, so a test can prove multipart was used.
const stats = {parts: 0, completed: 0, refused: 0};

function handle(req, res, body) {
    const [rawPath, rawQuery = ''] = req.url.split('?', 2);
    if (rawPath === '/__stats') return reply(res, 200, null, JSON.stringify(stats));
    const bad = verify(req, rawPath, rawQuery, body);
    if (bad) {
        stats.refused++;
        return reply(res, bad[0], bad[1], bad[2]);
    }
    const q = new URLSearchParams(rawQuery);
    const parts = rawPath.split('/');
    const bucket = decodeURIComponent(parts[1] || '');
    const key = parts.slice(2).map(decodeURIComponent).join('/');
    const name = bucket + '/' + key;
    if (!bucket) return reply(res, 400, 'InvalidBucketName', 'path-style requests only');
    if (!key) {
        if (req.method !== 'GET' || q.get('list-type') !== '2')
            return reply(res, 400, 'NotImplemented', 'only ListObjectsV2 on a bucket');
        const prefix = q.get('prefix') || '';
        const after = q.get('continuation-token') || '';
        const keys = [...objects.keys()].filter((k) => k.startsWith(bucket + '/'))
            .map((k) => k.slice(bucket.length + 1)).filter((k) => k.startsWith(prefix) && k > after).sort();
        const page = keys.slice(0, MAX_KEYS);
        const truncated = keys.length > page.length;
        const xml = '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult>' +
            `<Name>${xmlEsc(bucket)}</Name><Prefix>${xmlEsc(prefix)}</Prefix><KeyCount>${page.length}</KeyCount>` +
            `<MaxKeys>${MAX_KEYS}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
            (truncated ? `<NextContinuationToken>${xmlEsc(page[page.length - 1])}</NextContinuationToken>` : '') +
            page.map((k) => `<Contents><Key>${xmlEsc(k)}</Key><Size>${objects.get(bucket + '/' + k).length}</Size></Contents>`).join('') +
            '</ListBucketResult>';
        return reply(res, 200, null, xml, {'Content-Type': 'application/xml'});
    }
    const etag = (b) => `"${crypto.createHash('md5').update(b).digest('hex')}"`;
    if (req.method === 'POST' && q.has('uploads')) {
        const id = `up.${nextUpload++}~${crypto.randomBytes(6).toString('base64url')}`;
        uploads.set(id, {name, parts: new Map()});
        return reply(res, 200, null, `<InitiateMultipartUploadResult><Bucket>${xmlEsc(bucket)}</Bucket><Key>${xmlEsc(key)}</Key><UploadId>${xmlEsc(id)}</UploadId></InitiateMultipartUploadResult>`);
    }
    if (q.has('uploadId')) {
        const up = uploads.get(q.get('uploadId'));
        if (!up || up.name !== name) return reply(res, 404, 'NoSuchUpload', 'no such upload');
        if (req.method === 'PUT') {
            const n = Number(q.get('partNumber'));
            if (!(n >= 1 && n <= 10000)) return reply(res, 400, 'InvalidArgument', 'partNumber');
            up.parts.set(n, body);
            stats.parts++;
            return reply(res, 200, null, '', {ETag: etag(body)});
        }
        if (req.method === 'DELETE') {
            uploads.delete(q.get('uploadId'));
            return reply(res, 204, null, '');
        }
        if (req.method === 'POST') {
            const list = [...body.toString().matchAll(/<Part><PartNumber>(\d+)<\/PartNumber><ETag>([^<]*)<\/ETag><\/Part>/g)];
            const bufs = [];
            for (const [, n, tag] of list) {
                const p = up.parts.get(Number(n));
                if (!p || etag(p) !== tag.replace(/&quot;/g, '"'))
                    return reply(res, 400, 'InvalidPart', `part ${n} is missing or its ETag differs`);
                bufs.push(p);
            }
            if (!list.length) return reply(res, 400, 'MalformedXML', 'no parts');
            objects.set(name, Buffer.concat(bufs));
            uploads.delete(q.get('uploadId'));
            stats.completed++;
            return reply(res, 200, null, `<CompleteMultipartUploadResult><Key>${xmlEsc(key)}</Key></CompleteMultipartUploadResult>`);
        }
    }
    const obj = objects.get(name);
    switch (req.method) {
    case 'PUT':
        objects.set(name, body);
        return reply(res, 200, null, '', {ETag: etag(body)});
    case 'HEAD':
        if (!obj) { res.writeHead(404); return res.end(); }
        res.writeHead(200, {'Content-Length': obj.length, ETag: etag(obj)});
        return res.end();
    case 'GET': {
        if (!obj) return reply(res, 404, 'NoSuchKey', 'The specified key does not exist.');
        const r = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || '');
        if (!r) return reply(res, 200, null, obj);
        const start = Number(r[1]);
        const end = r[2] === '' ? obj.length - 1 : Math.min(Number(r[2]), obj.length - 1);
        if (start >= obj.length || end < start)
            return reply(res, 416, 'InvalidRange', 'The requested range is not satisfiable');
        res.writeHead(206, {'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${obj.length}`});
        return res.end(obj.subarray(start, end + 1));
    }
    case 'DELETE':
        objects.delete(name);
        return reply(res, 204, null, '');
    default:
        return reply(res, 405, 'MethodNotAllowed', req.method);
    }
}

// --selftest: the verifier's own signature of the AWS documentation's GET Object example
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html), so a
// request it accepts is one real S3 would.
if (process.argv.includes('--selftest')) {
    const got = signature('GET', '/test.txt', '', {
        host: 'examplebucket.s3.amazonaws.com', range: 'bytes=0-9',
        'x-amz-content-sha256': sha256(''), 'x-amz-date': '20130524T000000Z',
    }, ['host', 'range', 'x-amz-content-sha256', 'x-amz-date'], sha256(''), '20130524T000000Z',
    ['20130524', 'us-east-1', 's3', 'aws4_request'], 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    const want = 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41';
    console.log(got === want ? 'selftest ok' : `selftest FAILED: ${got}`);
    process.exit(got === want ? 0 : 1);
}

const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
        try {
            handle(req, res, Buffer.concat(chunks));
        } catch (e) {
            reply(res, 500, 'InternalError', String(e));
        }
    });
});
server.listen(PORT, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({port: server.address().port}) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
