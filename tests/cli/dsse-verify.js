// dsse-verify.js: an independent DSSE v1 + in-toto check, with Node's own crypto only (no
// sealroom code): PAE computed here, Ed25519 verified against the verifier key line.
//   node dsse-verify.js ENVELOPE_FILE VKEY_LINE [--subject NAME=SHA256]... [--tree HEX] [--env HEX]
// Prints "ok" and exits 0 when the signature verifies and every given claim holds.
'use strict';
const fs = require('fs');
const crypto = require('crypto');

function fail(msg) { console.error('dsse-verify: ' + msg); process.exit(1); }

const [file, vkey, ...rest] = process.argv.slice(2);
if (!file || !vkey) fail('usage: ENVELOPE_FILE VKEY_LINE [claims]');
const env = JSON.parse(fs.readFileSync(file, 'utf8'));
// name+hex8+base64: the name has no '+', the base64 may
const line = vkey.trim(), i = line.indexOf('+'), j = line.indexOf('+', i + 1);
if (i < 1 || j !== i + 9) fail('not a verifier key line');
const parts = [line.slice(0, i), line.slice(i + 1, j), line.slice(j + 1)];
const raw = Buffer.from(parts[2], 'base64');
if (raw.length !== 33 || raw[0] !== 1) fail('not an Ed25519 verifier key');
const pk = crypto.createPublicKey({
	key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw.subarray(1)]),
	format: 'der', type: 'spki',
});
const type = Buffer.from(env.payloadType, 'utf8');
const body = Buffer.from(env.payload, 'base64');
const pae = Buffer.concat([
	Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${body.length} `), body]);
const keyid = crypto.createHash('sha256').update(raw.subarray(1)).digest('hex');
const ok = (env.signatures || []).some(s =>
	(!s.keyid || s.keyid === keyid) && crypto.verify(null, pae, pk, Buffer.from(s.sig, 'base64')));
if (!ok) fail('no signature verifies with ' + parts[0]);
if (env.payloadType !== 'application/vnd.in-toto+json') fail('payloadType is ' + env.payloadType);
const st = JSON.parse(body.toString('utf8'));
if (st._type !== 'https://in-toto.io/Statement/v1') fail('_type is ' + st._type);
if (st.predicateType !== 'https://slsa.dev/provenance/v1') fail('predicateType is ' + st.predicateType);
const deps = st.predicate.buildDefinition.resolvedDependencies;
for (let i = 0; i < rest.length; i += 2) {
	const [flag, val] = [rest[i], rest[i + 1]];
	if (flag === '--subject') {
		const [name, sha] = val.split('=');
		if (!st.subject.some(s => s.name === name && s.digest.sha256 === sha))
			fail(`no subject ${name} with sha256 ${sha}`);
	} else if (flag === '--tree') {
		if (!deps.some(d => d.digest.gitTree === val)) fail('no resolved dependency with gitTree ' + val);
	} else if (flag === '--env') {
		if (!deps.some(d => d.uri === 'urn:sealroom:build-environment' && d.digest.sha256 === val))
			fail('no build environment ' + val);
	} else fail('unknown claim ' + flag);
}
console.log('ok');
