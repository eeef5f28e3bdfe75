// dsse-verify.js ENVELOPE TREE_SHA256 VKEY_LINE_FILE...: an independent check of a sealroom
// attestation: the pre-authentication encoding from @sigstore/core (when installed) and
// computed here by the DSSE spec, compared, then each key's Ed25519 signature checked with
// Node's crypto; the statement's subject must carry {"gitTree": TREE_SHA256}. Prints "ok"
// and exits 0, or says what failed and exits 1.
'use strict';
const fs = require('fs');
const crypto = require('crypto');

function pae(type, body) {
  const t = Buffer.from(type, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${t.length} `), t, Buffer.from(` ${body.length} `), body]);
}

function fail(msg) {
  console.log(msg);
  process.exit(1);
}

const [envPath, tree, ...vkeys] = process.argv.slice(2);
const env = JSON.parse(fs.readFileSync(envPath, 'utf8'));
const body = Buffer.from(env.payload, 'base64');
const mine = pae(env.payloadType, body);
let sigstore = null;
try {
  sigstore = require('@sigstore/core');
} catch (e) {
  console.log('note: @sigstore/core not installed; PAE computed here only');
}
if (sigstore) {
  const theirs = sigstore.dsse.preAuthEncoding(env.payloadType, body);
  if (!Buffer.from(theirs).equals(mine)) fail('PAE differs from @sigstore/core');
}
for (const f of vkeys) {
  // name+hex8+base64(0x01 || 32-byte Ed25519 public key)
  // (the base64 may hold '+' itself: split at the first two only)
  const line = fs.readFileSync(f, 'utf8').trim();
  const i = line.indexOf('+'), j = line.indexOf('+', i + 1);
  const parts = [line.slice(0, i), line.slice(i + 1, j), line.slice(j + 1)];
  const raw = Buffer.from(parts[2], 'base64');
  if (raw.length !== 33 || raw[0] !== 1) fail(`${f}: not an Ed25519 verifier key`);
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw.subarray(1)]);
  const key = crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const ok = env.signatures.some((s) => crypto.verify(null, mine, key, Buffer.from(s.sig, 'base64')));
  if (!ok) fail(`no valid signature by ${parts[0]}`);
}
const st = JSON.parse(body.toString('utf8'));
if (st._type !== 'https://in-toto.io/Statement/v1') fail('not an in-toto Statement v1');
if (!st.subject.some((s) => s.digest && s.digest.gitTree === tree)) fail(`no subject with gitTree ${tree}`);
console.log('ok');
