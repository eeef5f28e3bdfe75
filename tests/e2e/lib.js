// lib.js: what the browser tests share: TOTP codes, a demo room to serve, the sealroom
// command, the login form, and the closing "N passed, N failed" count.
"use strict";
const { spawn, execFileSync } = require("child_process");
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const counts = { passed: 0, failed: 0 };

function check(name, cond, extra) {
	if (cond) counts.passed++;
	else { counts.failed++; console.log("FAIL: " + name + (extra ? ": " + extra : "")); }
}

function base32(s) {
	const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	let bits = 0, v = 0; const out = [];
	for (const c of s.replace(/=+$/, "").toUpperCase()) {
		v = (v << 5) | a.indexOf(c); bits += 5;
		if (bits >= 8) { out.push((v >>> (bits - 8)) & 255); bits -= 8; }
	}
	return Buffer.from(out);
}

function totp(secret, offset) {
	const step = Math.floor(Date.now() / 1000 / 30) + (offset || 0);
	const msg = Buffer.alloc(8); msg.writeBigUInt64BE(BigInt(step));
	const h = crypto.createHmac("sha1", base32(secret)).update(msg).digest();
	const o = h[h.length - 1] & 15;
	return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, "0");
}

function write(p, s) { fs.mkdirSync(path.dirname(p), { recursive: true }); fs.writeFileSync(p, s); }

// Run `sealroom demo SRC` in DIR on PORT and resolve with its JSON line; it keeps serving.
function demo(sr, dir, port, src, version) {
	return new Promise((resolve, reject) => {
		const p = spawn(sr, ["demo", src, "-C", dir, "--version", version, "--listen", "127.0.0.1:" + port, "--json"],
			{ stdio: ["ignore", "pipe", "pipe"] });
		let out = "", err = "";
		p.stdout.on("data", (d) => {
			out += d;
			const nl = out.indexOf("\n");
			if (nl >= 0) resolve({ proc: p, info: JSON.parse(out.slice(0, nl)) });
		});
		p.stderr.on("data", (d) => { err += d; });
		p.on("exit", (code) => reject(new Error("demo exited " + code + ": " + err)));
	});
}

function stop(p) {
	return new Promise((resolve) => { p.removeAllListeners("exit"); p.on("exit", resolve); p.kill("SIGTERM"); });
}

// The sealroom command on the facility DIR: its stdout.
function command(sr, dir) {
	return (...args) => execFileSync(sr, ["-C", dir, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

async function login(page, url, acct, offset) {
	await page.goto(url + "/login");
	await page.fill("#login", acct.login);
	await page.fill("#password", acct.password);
	await page.fill("#totp", totp(acct.totp_secret, offset));
	await Promise.all([page.waitForNavigation(), page.click("#submit")]);
}

function launch(chromium) {
	return chromium.launch({
		executablePath: "/usr/bin/chromium",
		args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync"],
		// launch() gives chromium a fresh temporary --user-data-dir of its own each run
	});
}

// Print the count and exit with its status, after main's promise settles.
function finish(promise) {
	promise.catch((e) => { counts.failed++; console.log("FAIL: " + (e && e.stack ? e.stack : e)); })
		.finally(() => {
			console.log(counts.passed + " passed, " + counts.failed + " failed");
			process.exit(counts.failed ? 1 : 0);
		});
}

// The page's own location.hash is want, within a few seconds: history.replaceState is
// seen by page.url() only once the browser's event reaches playwright, so ask the page.
async function hashIs(page, want) {
	try {
		await page.waitForFunction((w) => location.hash === w, want, { timeout: 5000 });
		return true;
	} catch (e) {
		return false;
	}
}

module.exports = { check, totp, write, demo, stop, command, login, launch, finish, hashIs };
