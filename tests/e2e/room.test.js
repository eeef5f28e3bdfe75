// The review room as a person uses it, in Debian's chromium (playwright-core, no browser
// download): log in with TOTP, open a release, walk the tree, open a file, follow a
// permalink, jump to a definition, find references, open a diff, use the keyboard, and see
// a revoked session and an expired grant refused. Screenshots go to build/e2e/.
// Usage: node room.test.js SEALROOM_BINARY OUT_DIR. Ends with "N passed, N failed".
"use strict";
const { chromium } = require("playwright-core");
const { execFileSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const lib = require("./lib");
const { check, write, stop, login } = lib;

const SR = path.resolve(process.argv[2] || "build/sealroom");
const OUT = path.resolve(process.argv[3] || "build/e2e");
const PORT = 30000 + (process.pid % 20000);
const T = fs.mkdtempSync(path.join(os.tmpdir(), "sealroom-e2e-"));
const DIR = path.join(T, "fac");
// Two releases of one product: v2 changes main.c and adds a file. webp: a WebP file of the
// chart's bands that chromium encoded.
function trees(webp) {
	const util = "/* util: helpers */\n#include \"util.h\"\n\nint helper_sum(int a, int b)\n{\n\treturn a + b;\n}\n";
	write(path.join(T, "v1/src/util.c"), util);
	write(path.join(T, "v1/src/util.h"), "int helper_sum(int a, int b);\n");
	write(path.join(T, "v1/src/main.c"), "#include \"util.h\"\n\nint main(void)\n{\n\treturn helper_sum(1, 2);\n}\n");
	write(path.join(T, "v2/src/util.c"), util);
	write(path.join(T, "v2/src/util.h"), "int helper_sum(int a, int b);\n");
	write(path.join(T, "v2/src/main.c"), "#include \"util.h\"\n\n/* the answer */\nint main(void)\n{\n\tint x = helper_sum(40, 2);\n\treturn x;\n}\n");
	write(path.join(T, "v2/README"), "version two\n");
	let long = "";
	for (let i = 1; i <= 700; i++) long += "int long_line_" + i + " = " + i + ";\n";
	write(path.join(T, "v2/src/long.c"), long);
	// two definitions with bodies of one name, a prototype of another, prose naming code,
	// and a file whose definition lies far below the top
	write(path.join(T, "v2/src/twice_a.c"), "int twice(int x)\n{\n\treturn 2 * x;\n}\n");
	write(path.join(T, "v2/src/twice_b.c"), "/* another */\nint twice(int x)\n{\n\treturn x + x;\n}\n");
	write(path.join(T, "v2/src/use.c"), "int use(void) { return twice(1) + deep_target(); }\n");
	const deep = [];
	for (let i = 1; i <= 450; i++) deep.push(i === 300 ? "int deep_target(void) { return helper_sum(3, 4); }" : "int filler_" + i + ";");
	write(path.join(T, "v2/src/deep.c"), deep.join("\n") + "\n");
	write(path.join(T, "v2/NOTES.md"), "# Notes\n\nhelper_sum adds; twice doubles.\n");
	write(path.join(T, "v2/img/chart.png"), png(300, 120));
	write(path.join(T, "v1/img/chart.png"), png(200, 80));
	write(path.join(T, "v2/img/chart.gif"), gif(300, 120));
	write(path.join(T, "v2/img/bands.webp"), webp); // (no "t", "w", "b" in order: the finder's test)
	// a change inside a function, far from its top: the hunk is headed by the function
	const calc = (k) => { const a = ["int calc(int x)", "{", "\tint a = x;"]; for (let i = 1; i <= 20; i++) a.push("\ta += " + (i === 11 ? k : i) + ";"); a.push("\treturn a;", "}"); return a.join("\n") + "\n"; };
	write(path.join(T, "v1/src/calc.c"), calc(11));
	write(path.join(T, "v2/src/calc.c"), calc(110));
	let wide = "";
	while (wide.length < 40000) wide += "wide_" + wide.length + " + ";
	write(path.join(T, "v2/src/wide.c"), "int a;\nint w = " + wide.slice(0, 40000 - 9) + ";\nint b;\n");
	write(path.join(T, "v2/logo.png"), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]), Buffer.alloc(100)]));
}

// A w x h RGB PNG of coloured bands (zlib from node, CRC-32 by the table).
function png(w, h) {
	const zlib = require("zlib");
	const crcT = [];
	for (let n = 0; n < 256; n++) { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; crcT[n] = c >>> 0; }
	const crc = (b) => { let c = 0xffffffff; for (const x of b) c = crcT[(c ^ x) & 255] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
	const chunk = (type, data) => {
		const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
		const td = Buffer.concat([Buffer.from(type), data]);
		const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
		return Buffer.concat([len, td, c]);
	};
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
	const raw = Buffer.alloc((w * 3 + 1) * h);
	for (let y = 0; y < h; y++)
		for (let x = 0; x < w; x++) {
			const o = y * (w * 3 + 1) + 1 + x * 3;
			raw[o] = x < w / 3 ? 220 : 40; raw[o + 1] = x >= w / 3 && x < 2 * w / 3 ? 200 : 60; raw[o + 2] = x >= 2 * w / 3 ? 230 : 80;
		}
	return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr),
		chunk("IDAT", zlib.deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

// The chart's bands as an animated GIF: frame 1 the bands, frame 2 black (never shown).
// 8-bit codes, each a pixel, a clear code every 100 (so that the code size never grows):
// valid LZW without compressing.
function gif(w, h) {
	const le = (v) => [v & 255, v >> 8];
	const pal = Buffer.alloc(128 * 3);
	[[220, 60, 80], [40, 200, 80], [40, 60, 230], [0, 0, 0]].forEach((c, i) => pal.set(c, i * 3));
	const frame = (at) => {
		const codes = [];
		for (let i = 0; i < w * h; i++) {
			if (i % 100 === 0) codes.push(128);
			codes.push(at(i % w));
		}
		codes.push(129);
		const blocks = [];
		for (let i = 0; i < codes.length; i += 255) blocks.push(Math.min(255, codes.length - i), ...codes.slice(i, i + 255));
		return [0x21, 0xf9, 4, 0, 10, 0, 0, 0, 0x2c, 0, 0, 0, 0, ...le(w), ...le(h), 0, 7, ...blocks, 0];
	};
	return Buffer.concat([Buffer.from("GIF89a"), Buffer.from([...le(w), ...le(h), 0xf6, 0, 0]), pal,
		Buffer.from([0x21, 0xff, 11, ...Buffer.from("NETSCAPE2.0"), 3, 1, 0, 0, 0]),
		Buffer.from(frame((x) => (x < w / 3 ? 0 : x < 2 * w / 3 ? 1 : 2))), Buffer.from(frame(() => 3)), Buffer.from([0x3b])]);
}

// The chart's bands as a WebP, encoded by chromium's canvas (another WebP encoder than the
// room's libwebp).
async function webpOfBands(w, h) {
	const browser = await lib.launch(chromium);
	try {
		const page = await (await browser.newContext()).newPage();
		const url = await page.evaluate(([w, h]) => {
			const cv = document.createElement("canvas");
			cv.width = w; cv.height = h;
			const cx = cv.getContext("2d");
			[[220, 60, 80], [40, 200, 80], [40, 60, 230]].forEach((c, i) => {
				cx.fillStyle = "rgb(" + c.join(",") + ")";
				cx.fillRect(Math.round(i * w / 3), 0, Math.round(w / 3), h);
			});
			return cv.toDataURL("image/webp", 0.9);
		}, [w, h]);
		if (!url.startsWith("data:image/webp;base64,")) throw new Error("chromium made no WebP: " + url.slice(0, 30));
		return Buffer.from(url.slice(url.indexOf(",") + 1), "base64");
	} finally {
		await browser.close();
	}
}

// Is element sel of the page entirely below the sticky header and inside the viewport?
async function belowHeader(page, sel) {
	return page.evaluate((s) => {
		const el = document.querySelector(s), h = document.querySelector("header.top");
		if (!el || !h) return "missing " + s;
		const r = el.getBoundingClientRect(), hb = h.getBoundingClientRect().bottom;
		return r.top >= hb && r.bottom <= window.innerHeight ? true : "top " + r.top + " header " + hb + " bottom " + r.bottom;
	}, sel);
}

const demo = (src, version) => lib.demo(SR, DIR, PORT, src, version);
const sr = lib.command(SR, DIR);

// The vendor signs a decision on its own side (vendor sign: no facility folder) and the
// operator applies it.
let decisions = 0;
function vendorDecide(vkey, kind, rel, ...args) {
	const [p, v] = rel.split("@");
	const seal = path.join(T, "seal-" + decisions), file = path.join(T, "decision-" + decisions++);
	const note = execFileSync("sqlite3", [path.join(DIR, "sealroom.db"),
		"SELECT seal_note FROM releases WHERE product = '" + p + "' AND version = '" + v + "'"], { encoding: "utf8" });
	fs.writeFileSync(seal, note.replace(/\n$/, ""));
	execFileSync(SR, ["vendor", "sign", kind, rel, "--seal", seal, "--vendor-key", vkey, "--out", file, ...args],
		{ encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SEALROOM_HOME: "/nonexistent" } });
	return sr("apply", file, "--as", "otto");
}

async function main() {
	fs.mkdirSync(OUT, { recursive: true });
	trees(await webpOfBands(300, 120));
	const first = await demo(path.join(T, "v1"), "1");
	await stop(first.proc);
	const { proc, info } = await demo(path.join(T, "v2"), "2");
	const url = info.url, vkey = info.vendor_key;
	const rita = info.accounts.find((a) => a.login === "rita");
	check("demo JSON", url.startsWith("https://127.0.0.1:") && info.release === "demo@2" && rita && rita.totp_secret.length === 32);

	let browser = null;
	try {
		browser = await lib.launch(chromium);
		const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
		const page = await ctx.newPage();
		const errors = [];
		page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });

		// login with TOTP
		await page.goto(url + "/r/demo@2/tree/");
		check("no session: sent to the login page", page.url().endsWith("/login"));
		await page.screenshot({ path: path.join(OUT, "login.png") });
		await login(page, url, rita, 0);
		check("logged in: the releases page", page.url().endsWith("/releases"), page.url());
		const rels = await page.$$eval("a.release", (as) => as.map((a) => a.textContent));
		check("both releases listed", rels.includes("demo@1") && rels.includes("demo@2"), rels.join(","));
		check("the seal is shown", (await page.textContent("#releases")).includes("demo-vendor+"));
		await page.screenshot({ path: path.join(OUT, "releases.png") });

		// open a release, walk the tree, open a file
		await Promise.all([page.waitForNavigation(), page.click("text=demo@2")]);
		check("tree page", page.url().endsWith("/r/demo@2/tree/"));
		await page.screenshot({ path: path.join(OUT, "tree.png") });
		await Promise.all([page.waitForNavigation(), page.click("#tree >> text=src/")]);
		check("subfolder", page.url().endsWith("/r/demo@2/tree/src"), page.url());
		await Promise.all([page.waitForNavigation(), page.click("#tree >> text=main.c")]);
		check("file view", page.url().endsWith("/r/demo@2/blob/src/main.c"), page.url());
		check("line numbers", (await page.$$("#code .l[id^=L]")).length === 8);
		// issue 7: the code is drawn by the session's font from private-use code points, so
		// the DOM and a copy hold no line of it; the watermark is over it
		const l6 = (await page.textContent("#L6")) || "";
		check("line 6 is private-use text, not code", /[\uE000-\uF8FF\uDB80-\uDBFF]/.test(l6) && !l6.includes("helper_sum"), l6);
		// the session font is fetched once for the session: a URL of its own, private and immutable
		const fontResp = await page.request.get(url + (await page.evaluate(() => {
			const l = [...document.querySelectorAll("link[rel=stylesheet]")].find((x) => x.href.includes("/s/room.css"));
			return l ? new URL(l.href).pathname + new URL(l.href).search : "";
		})).replace("room.css", "code.ttf"));
		check("the session font is cached for the session", fontResp.status() === 200 && fontResp.headers()["cache-control"] === "private, max-age=43200, immutable", fontResp.headers()["cache-control"]);
		const otherFont = await page.request.get(url + "/s/code.ttf?v=0000000000000000");
		check("another session's font URL is not found", otherFont.status() === 404);
		const pageResp = await page.request.get(url + "/r/demo@2/blob/src/main.c");
		check("code pages are not stored", pageResp.headers()["cache-control"] === "no-store");
		const fonts = await page.evaluate(() => document.fonts.ready.then(() => [...document.fonts].map((f) => f.family.replace(/"/g, "") + ":" + f.status)));
		check("the session font loaded", fonts.includes("sr-code:loaded"), fonts.join(","));
		const copied = await page.evaluate(() => { const r = document.createRange(); r.selectNodeContents(document.body); const s = window.getSelection(); s.removeAllRanges(); s.addRange(r); return s.toString(); });
		const lines = ["int main(void)", "int x = helper_sum(40, 2);", "return x;", "#include \"util.h\"", "/* the answer */"];
		check("copying the page yields no line of the file", copied.length > 0 && lines.every((l) => !copied.includes(l)), copied.slice(0, 200));
		check("watermark over the code", (await page.$$("#code .sr-watermark")).length === 1);
		await page.screenshot({ path: path.join(OUT, "blob.png") });
		// the screenshot names rita's session
		let traced = {};
		try { traced = JSON.parse(sr("trace", path.join(OUT, "blob.png"), "--json")); } catch (e) { traced = { error: String(e.stderr || e) }; }
		check("trace names the session of the screenshot", traced.found === true && traced.login === "rita", JSON.stringify(traced).slice(0, 300));

		// a range permalink, pinned to the release
		await page.goto(url + "/r/demo@2/blob/src/main.c#L4-L6");
		await page.waitForSelector(".l.hl");
		check("permalink highlights 3 lines", (await page.$$(".l.hl")).length === 3);
		await page.click("#L2 a.n");
		check("clicking a line number sets the hash", await lib.hashIs(page, "#L2"), await page.evaluate(() => location.hash));
		await page.click("#L3 a.n", { modifiers: ["Shift"] });
		check("shift-click makes a range", await lib.hashIs(page, "#L2-L3"), await page.evaluate(() => location.hash));

		// keyboard: j/k move, t goes to the tree
		await page.keyboard.press("j");
		check("j marks a line", (await page.$$(".l.cur")).length === 1);

		// go to definition: the identifier is a link to its definition
		const def = await page.$("#L6 a.d");
		check("identifier linked to its definition", !!def);
		if (def) {
			const href = await def.getAttribute("href");
			check("definition link has no name in it", !/helper/.test(href), href);
			await Promise.all([page.waitForNavigation(), def.click()]);
			check("jumped to the definition", /\/r\/demo@2\/blob\/src\/util\.c\?at=4#L4$/.test(page.url()), page.url());
			await page.waitForSelector(".l.hl");
			check("definition line highlighted", (await page.$$eval(".l.hl", (ls) => ls.map((l) => l.id))).join() === "L4");
			await page.screenshot({ path: path.join(OUT, "definition.png") });
			// find references (whole-word search of the symbol)
			await page.goto(url + href.replace("/def?", "/refs?"));
			const se = await page.$("#summary");
			const sum = se ? await se.textContent() : (await page.content()).slice(-600);
			check("references found", /references: 5 matching lines/.test(sum), sum);
			await page.screenshot({ path: path.join(OUT, "references.png") });
		}
		// references reachable from a name with a single definition: its actions, and r
		await page.goto(url + "/r/demo@2/blob/src/main.c");
		await page.hover("#L6 a.d");
		await page.waitForSelector("#name-actions.on");
		check("a name's actions appear on hover", await page.isVisible("#act-refs"));
		await page.screenshot({ path: path.join(OUT, "name-actions.png") });
		await Promise.all([page.waitForNavigation(), page.click("#act-refs")]);
		const sum2 = (await page.textContent("#summary")) || "";
		check("references from a single-definition name", /references: 5 matching lines/.test(sum2), sum2);
		await page.goto(url + "/r/demo@2/blob/src/main.c");
		await page.hover("#L6 a.d");
		await Promise.all([page.waitForNavigation(), page.keyboard.press("r")]);
		check("r opens the references", page.url().includes("/refs?n="), page.url());
		// the definition of a name with two bodies: a list naming the symbol, a preview of each line
		await page.goto(url + "/r/demo@2/blob/src/use.c");
		const twice = await page.$$eval("#L1 a.d", (as) => as.map((a) => a.getAttribute("href")));
		check("use.c links use, twice and deep_target", twice.length === 3, twice.join(","));
		if (twice.length === 3) {
			await page.goto(url + twice[1]);
			check("definitions page names the symbol", (await page.$$("#defname")).length === 1 &&
				/[\uE000-\uF8FF\uDB80-\uDBFF]/.test(await page.textContent("#defname")));
			const previews = await page.$$eval("#code .l.d", (ls) => ls.map((l) => [l.querySelector("a.p").textContent, l.querySelector(".c").textContent]));
			check("two definitions with a preview of each line", previews.length === 2 &&
				previews[0][0] === "src/twice_a.c:1" && previews[1][0] === "src/twice_b.c:2" &&
				previews.every((p) => /[\uE000-\uF8FF\uDB80-\uDBFF]/.test(p[1]) && !p[1].includes("twice")), JSON.stringify(previews));
			check("definitions page links the references", (await page.$$("#refs")).length === 1);
			await page.screenshot({ path: path.join(OUT, "definitions.png") });
			// go to a definition far below the top: its line lands below the sticky header
			await page.goto(url + "/r/demo@2/blob/src/use.c");
			await Promise.all([page.waitForNavigation(), page.click("#L1 a.d >> nth=2")]);
			check("deep definition: the right window", /\/blob\/src\/deep\.c\?at=300#L300$/.test(page.url()), page.url());
			await page.waitForSelector("#L300.hl");
			check("deep definition: the line is visible below the header", (await belowHeader(page, "#L300")) === true, String(await belowHeader(page, "#L300")));
			await page.screenshot({ path: path.join(OUT, "deep-definition.png") });
		}
		// a single-line permalink lands below the header too
		await page.goto(url + "/r/demo@2/blob/src/deep.c?at=350#L350");
		await page.waitForSelector("#L350.hl");
		check("permalink: the line is visible below the header", (await belowHeader(page, "#L350")) === true, String(await belowHeader(page, "#L350")));
		// find in file: marked on the server, stepped with n / N, on to the next window
		// (counted and marked in the window only: nothing past the lines shown is looked at)
		await page.goto(url + "/r/demo@2/blob/src/deep.c?find=filler_3");
		check("find counts the window's matches", ((await page.textContent("#find-count")) || "").includes("11 matches in lines 1-200"), await page.textContent("#find-count"));
		check("find marks the window's matches", (await page.$$("#code mark.f")).length === 11, String((await page.$$("#code mark.f")).length) + " " + (await page.$$("#code .l[id]")).length);
		check("find: the first match is current", (await page.$$("#code mark.f.cur")).length === 1);
		const curLine = () => page.evaluate(() => { const m = document.querySelector("#code mark.f.cur"); return m ? m.closest(".l").id : ""; });
		const l0 = await curLine();
		await page.keyboard.press("n");
		const l1 = await curLine();
		check("n steps to the next match", l0 === "L3" && l1 === "L30", l0 + " " + l1);
		check("the current match is visible below the header", (await belowHeader(page, "#code mark.f.cur")) === true, String(await belowHeader(page, "#code mark.f.cur")));
		await page.keyboard.press("Shift+N");
		check("N steps back", (await curLine()) === "L3", await curLine());
		await page.screenshot({ path: path.join(OUT, "find.png") });
		for (let i = 0; i < 10; i++) await page.keyboard.press("n");
		await Promise.all([page.waitForNavigation(), page.keyboard.press("n")]);
		check("past the window's last match, n opens the next window", /\/blob\/src\/deep\.c\?from=201&find=filler_3#find-first$/.test(page.url()), page.url());
		check("the next window's matches", (await page.$$("#code mark.f")).length === 99 && (await curLine()) === "L301", await curLine());
		await page.keyboard.press("Shift+N");
		await page.waitForSelector("#code mark.f.cur");
		check("N before the window's first match opens the window before, at its last match", /\?from=1&find=filler_3#find-last$/.test(page.url()) && (await curLine()) === "L39", page.url() + " " + (await curLine()));
		await page.goto(url + "/r/demo@2/blob/src/deep.c?find=FILLER_3&fi=1");
		check("find ignoring case", ((await page.textContent("#find-count")) || "").includes("11 matches"));
		await page.goto(url + "/r/demo@2/blob/src/deep.c?find=FILLER_3");
		check("find keeps case", ((await page.textContent("#find-count")) || "").includes("0 matches"));
		// a find whose only match lies past the window says nothing of it
		await page.goto(url + "/r/demo@2/blob/src/deep.c?find=filler_449");
		check("find tells nothing past the window", ((await page.textContent("#find-count")) || "").startsWith("0 matches in lines 1-200") && (await page.$$("#find-next")).length === 1, await page.textContent("#find-count"));
		const bad = await page.request.get(url + "/r/demo@2/blob/src/long.c?find=a%0Ab");
		check("find refuses a control byte", bad.status() === 400 && (await bad.text()).includes("control byte"));
		const big = await page.request.get(url + "/r/demo@2/blob/src/long.c?find=" + "x".repeat(257));
		check("find refuses more than 256 bytes", big.status() === 414, String(big.status()));
		const edge = await page.request.get(url + "/r/demo@2/blob/src/long.c?find=" + "x".repeat(256));
		check("find takes 256 bytes", edge.status() === 200, String(edge.status()));
		await page.goto(url + "/r/demo@2/blob/src/use.c");
		await page.keyboard.press("Control+f");
		check("Ctrl-F opens find in file", await page.evaluate(() => document.activeElement && document.activeElement.id === "find-q"));
		await page.keyboard.type("deep_target");
		check("underscores show in the find input", await page.inputValue("#find-q") === "deep_target");
		await page.screenshot({ path: path.join(OUT, "find-input.png"), clip: { x: 0, y: 40, width: 1280, height: 100 } });
		await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
		check("find from the input", ((await page.textContent("#find-count")) || "").includes("1 match in lines 1-1"), await page.textContent("#find-count"));
		// an image is shown as one: a marked JPEG, charged a line per 16 rows, logged
		const left = async () => +(/lines left (\d+)/.exec((await page.textContent("#budget")) || "") || [0, -1])[1];
		await page.goto(url + "/r/demo@2/blob/README");
		const beforeImg = await left();
		await page.goto(url + "/r/demo@2/blob/img/chart.png");
		const img = await page.evaluate(() => { const i = document.querySelector("#code img#image"); return i ? [i.naturalWidth, i.naturalHeight, i.src.slice(0, 23)] : null; });
		check("image shown as an image", img && img[0] === 300 && img[1] === 120 && img[2] === "data:image/jpeg;base64,", JSON.stringify(img));
		check("image charged as its rows", beforeImg - (await left()) === 8, beforeImg + " " + (await left()));
		check("image named with its size", ((await page.textContent("#image-size")) || "").startsWith("PNG image, 300×120 pixels"));
		check("the meta line says what the image is", (await page.textContent("#meta span")) === "PNG image, 300×120, charged as 8 lines", await page.textContent("#meta span"));
		check("an image has no print form (it has no lines to print)", (await page.$$("#print")).length === 0);
		const marked = await page.evaluate(() => new Promise((res) => {
			const i = document.querySelector("#image"), cv = document.createElement("canvas");
			cv.width = i.naturalWidth; cv.height = i.naturalHeight;
			const cx = cv.getContext("2d"); cx.drawImage(i, 0, 0);
			const d = cx.getImageData(0, 0, cv.width, cv.height).data;
			let off = 0; /* pixels the watermark moved far from the band's colour */
			for (let k = 0; k < d.length; k += 4) if (Math.abs(d[k] - (k / 4 % 300 < 100 ? 220 : 40)) > 12) off++;
			res(off);
		}));
		check("the image carries the watermark in its pixels", marked > 200 && marked < 300 * 120 / 2, String(marked));
		await page.screenshot({ path: path.join(OUT, "image.png") });
		// a GIF (the first of its two frames) and a WebP go the same way: shown, marked,
		// charged, named; each shown copy compared with the file as chromium decodes it
		for (const [file, kind] of [["chart.gif", "GIF"], ["bands.webp", "WebP"]]) {
			const bytes = fs.readFileSync(path.join(T, "v2/img", file));
			const before = await left();
			await page.goto(url + "/r/demo@2/blob/img/" + file);
			const im = await page.evaluate(() => { const i = document.querySelector("#code img#image"); return i ? [i.naturalWidth, i.naturalHeight, i.src.slice(0, 23)] : null; });
			check(kind + " shown as an image", im && im[0] === 300 && im[1] === 120 && im[2] === "data:image/jpeg;base64,", JSON.stringify(im));
			check(kind + " charged as its rows", before - (await left()) === 8, before + " " + (await left()));
			check(kind + ": the meta line says what it is", (await page.textContent("#meta span")) === kind + " image, 300×120, charged as 8 lines", await page.textContent("#meta span"));
			check(kind + " named with its size", ((await page.textContent("#image-size")) || "") === kind + " image, 300×120 pixels, " + bytes.length + " bytes", await page.textContent("#image-size"));
			const off = await page.evaluate((src) => new Promise((res) => {
				const shown = document.querySelector("#image"), orig = new Image();
				orig.onload = () => {
					const px = (im) => { const cv = document.createElement("canvas"); cv.width = 300; cv.height = 120; const cx = cv.getContext("2d"); cx.drawImage(im, 0, 0); return cx.getImageData(0, 0, 300, 120).data; };
					const a = px(shown), b = px(orig);
					let n = 0; /* pixels the watermark moved far from the file's */
					for (let k = 0; k < a.length; k += 4) if (Math.abs(a[k] - b[k]) > 12) n++;
					res(n);
				};
				orig.onerror = () => res(-1);
				orig.src = src;
			}), "data:image/" + kind.toLowerCase() + ";base64," + bytes.toString("base64"));
			check(kind + ": the first frame, carrying the watermark in its pixels", off > 200 && off < 300 * 120 / 2, String(off));
		}
		await page.screenshot({ path: path.join(OUT, "image-webp.png") });
		// a line over 16 KiB: cut with a link to its rest, part by part, each charged once
		await page.goto(url + "/r/demo@2/blob/src/wide.c");
		const cutText = (await page.textContent("#L2 a.cut")) || "";
		check("a cut line says how much is left", cutText === String(40000 - 16384) + " more bytes", cutText);
		const beforePart = await left();
		await Promise.all([page.waitForNavigation(), page.click("#L2 a.cut")]);
		check("the rest of the line, part 1", page.url().endsWith("/blob/src/wide.c?from=2&part=1") &&
			((await page.textContent("#partbar")) || "").startsWith("line 2, bytes 16385-32768 of 40000"), page.url());
		check("a part is charged as a line", beforePart - (await left()) === 1, beforePart + " " + (await left()));
		await page.screenshot({ path: path.join(OUT, "line-part.png") });
		await Promise.all([page.waitForNavigation(), page.click("#part-next")]);
		check("the last part, no further link", ((await page.textContent("#partbar")) || "").startsWith("line 2, bytes 32769-40000 of 40000") && (await page.$$("#part-next")).length === 0);
		const afterParts = await left();
		await page.goto(url + "/r/demo@2/blob/src/wide.c?from=2&part=1");
		check("a part shown again the same day costs nothing", (await left()) === afterParts);
		const noPart = await page.request.get(url + "/r/demo@2/blob/src/wide.c?from=2&part=3");
		check("a part past the line's end is not found", noPart.status() === 404, String(noPart.status()));
		// in a search result and in a diff, a cut line links its rest too
		await page.goto(url + "/r/demo@2/search?q=int+w+%3D+wide_0&l=1");
		const sCut = await page.$eval("#code .l a.cut", (a) => [a.getAttribute("href"), a.textContent]).catch(() => null);
		check("a cut search result links its rest", sCut && sCut[0] === "/r/demo@2/blob/src/wide.c?from=2&part=1" && sCut[1] === String(40000 - 16384) + " more bytes", JSON.stringify(sCut));
		await page.goto(url + "/r/demo@2/diff/1/src/wide.c");
		const dCut = await page.$eval("#code .l.a a.cut", (a) => a.getAttribute("href")).catch(() => null);
		check("a cut diff line links its rest", dCut === "/r/demo@2/blob/src/wide.c?from=2&part=1", String(dCut));
		// long lines wrap on request (w), and the choice stays
		await page.goto(url + "/r/demo@2/blob/src/wide.c");
		const h0 = await page.evaluate(() => document.getElementById("L2").getBoundingClientRect().height);
		await page.keyboard.press("w");
		const h1 = await page.evaluate(() => document.getElementById("L2").getBoundingClientRect().height);
		check("w wraps long lines", (await page.$$("#code.wrap")).length === 1 && h1 > 10 * h0 && (await page.isChecked("#wrap")), h0 + " " + h1);
		await page.screenshot({ path: path.join(OUT, "wrap.png") });
		await page.reload();
		check("the wrap stays on", (await page.$$("#code.wrap")).length === 1);
		await page.click("#wrap");
		check("the wrap box turns it off", (await page.$$("#code.wrap")).length === 0);
		// beside the code: the file's folder (the file marked) and the file finder (p)
		await page.goto(url + "/r/demo@2/blob/src/main.c");
		check("the folder beside the code marks the file", ((await page.textContent("#side-tree li.here")) || "").startsWith("main.c") &&
			(await page.$$("#side-tree a[href$='/blob/src/util.c']")).length === 1);
		await page.keyboard.press("p");
		check("p opens the file finder", await page.evaluate(() => document.activeElement && document.activeElement.id === "finder"));
		await page.keyboard.type("util");
		await page.waitForSelector("#finder-list li.sel");
		const found = await page.$$eval("#finder-list li a", (as) => as.map((a) => a.textContent));
		check("the finder lists the matching paths, best first", found.join() === "src/util.c,src/util.h", found.join());
		await page.screenshot({ path: path.join(OUT, "finder.png") });
		await page.keyboard.press("ArrowDown");
		await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
		check("the finder opens the chosen file", page.url().endsWith("/r/demo@2/blob/src/util.h"), page.url());
		await page.goto(url + "/r/demo@2/files?q=twb");
		check("the files page: letters in order", ((await page.textContent("#files-count")) || "") === "1 file" &&
			(await page.textContent("#files li a")) === "src/twice_b.c");
		const longQ = await page.request.get(url + "/r/demo@2/files?q=" + "x".repeat(257));
		check("the finder refuses a query over 256 bytes", longQ.status() === 414, String(longQ.status()));
		// references from the keyboard alone: j to the line, r for the name on it
		await page.goto(url + "/r/demo@2/blob/src/main.c");
		await page.mouse.move(0, 0);
		for (let i = 0; i < 6; i++) await page.keyboard.press("j");
		await Promise.all([page.waitForNavigation(), page.keyboard.press("r")]);
		check("j then r opens the references of the line's name", page.url().includes("/refs?n=") &&
			/references: 5 matching lines/.test((await page.textContent("#summary")) || ""), page.url());
		// and Tab reaches a name, whose actions then show
		await page.goto(url + "/r/demo@2/blob/src/main.c");
		await page.focus("#L6 a.d");
		check("a focused name shows its references action", await page.isVisible("#act-refs"));
		// a name with no definition has its references too, asked by its place: by the
		// mouse (the actions, with no definition among them) and by the keys (j, l, r)
		const xRefs = async () => {
			const s = (await page.textContent("#summary")) || "";
			const q = await page.request.get(url + "/r/demo@2/search?q=x&w=1&l=1");
			const m = /(\d+) matching lines/.exec(await q.text());
			return [s, m ? m[1] : "none"];
		};
		await page.goto(url + "/r/demo@2/blob/src/main.c");
		const un = await page.$("#L7 a.u");
		check("a name with no definition is marked", !!un);
		if (un) {
			await un.hover();
			await page.waitForSelector("#name-actions.on");
			check("its actions: references, and no definition", await page.isVisible("#act-refs") && !(await page.isVisible("#act-def")));
			await page.screenshot({ path: path.join(OUT, "name-no-definition.png") });
			await Promise.all([page.waitForNavigation(), page.click("#act-refs")]);
			const [s, n] = await xRefs();
			check("references of a name with no definition, as many as a whole-word search finds",
				/\/refs\/src\/main\.c\?line=7&k=0$/.test(page.url()) && s.includes("references: " + n + " matching lines"), page.url() + " " + s + " " + n);
		}
		await page.goto(url + "/r/demo@2/blob/src/main.c");
		await page.mouse.move(0, 0);
		for (let i = 0; i < 7; i++) await page.keyboard.press("j");
		await page.keyboard.press("l");
		check("l focuses the line's first name", await page.$eval("#L7", (l) => !!l.querySelector("a.u.focus")));
		await Promise.all([page.waitForNavigation(), page.keyboard.press("r")]);
		check("j, l, r open the references of a name with no definition", /\/refs\/src\/main\.c\?line=7&k=0$/.test(page.url()), page.url());
		// a binary file is named as binary, not shown as text
		await page.goto(url + "/r/demo@2/blob/logo.png");
		check("binary file named as binary", ((await page.textContent("#binary")) || "") === "binary (a PNG image: damaged PNG file), 112 bytes", await page.textContent("#binary"));
		check("binary file: the meta line says binary", (await page.textContent("#meta span")) === "binary", await page.textContent("#meta span"));
		check("binary file shows no line", (await page.$$("#code .l")).length === 0);
		// search results: per-file counts, context lines, previous / next and page numbers
		await page.goto(url + "/r/demo@2/search?q=filler_&l=1&context=1");
		check("search: the count as far as shown", ((await page.textContent("#summary")) || "").includes("at least 50 matching lines"), await page.textContent("#summary"));
		check("search: the file's count on the page", ((await page.textContent("#code .sp .count")) || "") === "50 matches on this page");
		check("search: context lines", (await page.$$("#code .l.ctx")).length > 0);
		check("search: page numbers no further than one past", (await page.$$eval("#pages .page", (ps) => ps.map((p) => p.textContent))).join() === "1,2");
		check("search: the context stays set", (await page.inputValue("#context")) === "1");
		check("search: the literal box stays checked", await page.isChecked("input[name=l]"));
		await Promise.all([page.waitForNavigation(), page.click("#pages #next")]);
		check("search: next page", page.url().includes("page=1") && page.url().includes("context=1") && (await page.$$("#pages #prev")).length === 1);
		check("search: page numbers after a step", (await page.$$eval("#pages .page", (ps) => ps.map((p) => p.textContent))).join() === "1,2,3");
		const deepLink = await page.$eval("#code .l:not(.ctx) a.n", (a) => a.getAttribute("href"));
		check("search: a link into the window of its line", /\/blob\/src\/deep\.c\?at=\d+#L\d+$/.test(deepLink), deepLink);
		const skip = await page.request.get(url + "/r/demo@2/search?q=filler_&l=1&page=8");
		check("search: a page past the ones shown is refused", skip.status() === 403, String(skip.status()));
		await page.goto(url + "/r/demo@2/search?q=filler_4&l=1");
		const far = await page.$$eval("#code .l:not(.ctx) a.n", (as) => as[as.length - 1].getAttribute("href"));
		check("search: a link past the first window opens the right one", /\?at=4\d\d#L4\d\d$/.test(far), far);
		await page.goto(url + far);
		const farLine = far.replace(/.*#/, "#");
		check("search: that line is there", (await page.$$(farLine)).length === 1 && (await belowHeader(page, farLine)) === true, farLine);
		await page.screenshot({ path: path.join(OUT, "search-pages.png") });
		// prose makes no links; code has an outline beside it
		await page.goto(url + "/r/demo@2/blob/NOTES.md");
		check("no definition links in Markdown", (await page.$$("#code a.d")).length === 0);
		await page.goto(url + "/r/demo@2/blob/src/twice_b.c");
		check("the outline lists the file's definitions", (await page.$$eval("#outline a.o", (as) => as.map((a) => a.getAttribute("data-line")))).join() === "2");
		await page.keyboard.press("?");
		check("? shows the keys", await page.isVisible("#help"));
		await page.keyboard.press("Escape");
		await page.goto(url + "/r/demo@2/blob/src/main.c");
		await Promise.all([page.waitForNavigation(), page.keyboard.press("t")]);
		check("t opens the tree", page.url().endsWith("/r/demo@2/tree/"), page.url());

		// search with /
		await page.keyboard.press("/");
		await page.keyboard.type("helper_sum");
		await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
		const summary = await page.$("#summary");
		check("search page", summary && (await summary.textContent()).includes("5 matching lines"), page.url());
		check("search marks the match", (await page.$$("#code mark")).length === 5);
		check("search results are highlighted", (await page.$$("#code.results .l .hk, #code.results .l .ht, #code.results .l .hn")).length >= 5);
		await page.screenshot({ path: path.join(OUT, "search.png") });

		// a diff between the two releases
		await page.goto(url + "/r/demo@2/diff/1/");
		const changes = await page.textContent("#changes");
		check("diff lists changed files", changes.includes("src/main.c") && changes.includes("README") && !changes.includes("util.c"), changes);
		await Promise.all([page.waitForNavigation(), page.click("#changes >> text=src/main.c")]);
		check("file diff: added lines", (await page.$$("#code .l.a")).length === 3);
		check("file diff: removed lines", (await page.$$("#code .l.r")).length === 1);
		const order = await page.$$eval("#code .l.r, #code .l.a, #code .l.u", (ls) => ls.map((l) => l.classList.contains("r") ? "-" : l.classList.contains("a") ? "+" : " ").join(""));
		check("file diff: removed lines before added ones", order.split(" ").every((run) => /^-*\+*$/.test(run)) && order.includes("-+"), JSON.stringify(order));
		// the session stylesheet keeps the diff's colours (translucent, over the forensic mark)
		const bg = await page.$$eval("#code .l.a, #code .l.r", (ls) => ls.map((l) => getComputedStyle(l).backgroundColor));
		const tint = (c, want) => { const m = /rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)/.exec(c); return m && (m[4] === undefined || +m[4] > 0.05) && (want === "g" ? +m[2] > +m[1] : +m[1] > +m[2]); };
		check("file diff: added lines green, removed red", bg.length === 4 && tint(bg[1], "r") && [0, 2, 3].every((i) => tint(bg[i], "g")), bg.join(" "));
		check("file diff: a hunk header", /@@ -\d+,\d+ \+\d+,\d+ @@/.test(await page.textContent("#code .l.hh")));
		await page.goto(url + "/r/demo@2/diff/1/src/calc.c");
		const hh = await page.$eval("#code .l.hh", (e) => [e.querySelector(".hr").textContent, e.querySelector(".c") ? e.querySelector(".c").textContent : ""]);
		check("file diff: the hunk is headed by its enclosing function", hh[0] === "@@ -11,7 +11,7 @@" && /[\uE000-\uF8FF\uDB80-\uDBFF]/.test(hh[1]) && hh[1].length >= 15, JSON.stringify(hh));
		const ctx0 = (await page.$$("#code .l.u")).length;
		check("file diff: hidden lines can be shown", (await page.$$("#code .gap a.more")).length === 2, String((await page.$$("#code .gap a.more")).length));
		await Promise.all([page.waitForNavigation(), page.click("#code .gap a.more >> nth=0")]);
		const ctx1 = (await page.$$("#code .l.u")).length;
		check("file diff: more context shown", ctx1 > ctx0 && /\?ctx=\d+#[LO]\d+$/.test(page.url()), ctx0 + " " + ctx1 + " " + page.url());
		await page.goto(url + "/r/demo@2/diff/1/img/chart.png");
		check("file diff: a binary file named as binary", /^binary file: \d+ bytes before, \d+ bytes after$/.test((await page.textContent("#binary")) || "") && (await page.$$("#code .l.a, #code .l.r")).length === 0, await page.textContent("#binary"));
		await page.goto(url + "/r/demo@2/diff/1/src/main.c");
		check("file diff: highlighted", (await page.$$("#code .l.a .hk, #code .l.a .hc, #code .l.a .hn")).length > 0);
		await page.screenshot({ path: path.join(OUT, "diff.png") });
		// a line permalink in a diff, and the link from the file view and the releases page
		await page.click("#code .l.a a.n");
		check("diff line permalink", /#L\d+$/.test(page.url()), page.url());
		await page.goto(url + "/r/demo@2/blob/src/main.c");
		await Promise.all([page.waitForNavigation(), page.click("#since")]);
		check("file view links to its changes since the previous release", page.url().endsWith("/r/demo@2/diff/1/src/main.c"), page.url());
		await page.goto(url + "/releases");
		check("releases page links to the changes since", (await page.$$("a.since[href='/r/demo@2/diff/1/']")).length === 1);

		// a long file comes in windows of 200 lines, the next one as the reader scrolls
		await page.goto(url + "/r/demo@2/blob/src/long.c");
		const first = (await page.$$("#code .l[id]")).length;
		const left0 = await page.textContent("#budget");
		check("a window of 200 lines", first === 200, String(first));
		for (let k = 0; k < 6 && (await page.$$("#code .l[id]")).length < 400; k++) {
			await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
			await page.waitForTimeout(400);
		}
		const more = (await page.$$("#code .l[id]")).length;
		check("scrolling loads the next window", more >= 400 && (await page.$("#L400")) !== null, String(more));
		const left1 = await page.textContent("#budget");
		const n0 = +(/lines left (\d+)/.exec(left0) || [0, 0])[1], n1 = +(/lines left (\d+)/.exec(left1) || [0, 0])[1];
		check("each window is charged, and the page says what is left", n0 - n1 >= 200, left0 + " / " + left1);
		// the print form asks for the lines on the screen, not the file
		await page.goto(url + "/r/demo@2/blob/src/long.c?at=120#L120");
		await page.waitForTimeout(300);
		const asked = await page.evaluate(() => {
			const f = document.getElementById("print"), head = document.querySelector("header.top").getBoundingClientRect().bottom;
			const seen = [...document.querySelectorAll("#code .l[id]")].filter((l) => {
				const r = l.getBoundingClientRect();
				return r.bottom > head && r.top < window.innerHeight;
			}).map((l) => +l.id.slice(1));
			return { from: +f.elements.from.value, to: +f.elements.to.value, lo: Math.min(...seen), hi: Math.max(...seen) };
		});
		check("the print form asks for the lines on the screen", asked.from === asked.lo && asked.to === asked.hi && asked.to - asked.from < 100, JSON.stringify(asked));

		// the large-monitor layout
		await page.setViewportSize({ width: 2560, height: 1440 });
		await page.goto(url + "/r/demo@2/blob/src/main.c");
		await page.screenshot({ path: path.join(OUT, "blob-2560.png") });
		await page.goto(url + "/r/demo@2/diff/1/src/main.c");
		await page.screenshot({ path: path.join(OUT, "diff-2560.png") });
		await page.goto(url + "/r/demo@2/blob/src/deep.c?from=201&find=filler_3#L350");
		await page.waitForSelector("#L350.hl");
		check("2560x1440: the target line below the header", (await belowHeader(page, "#L350")) === true);
		await page.screenshot({ path: path.join(OUT, "find-2560.png") });
		await page.goto(url + "/r/demo@2/search?q=filler_&l=1");
		await page.screenshot({ path: path.join(OUT, "search-2560.png") });
		await page.goto(url + "/r/demo@2/blob/img/chart.png");
		check("2560x1440: the image shown", (await page.$$("#code img#image")).length === 1);
		await page.screenshot({ path: path.join(OUT, "image-2560.png") });
		await page.goto(url + "/r/demo@2/diff/1/src/calc.c");
		await page.screenshot({ path: path.join(OUT, "diff-function-2560.png") });
		await page.setViewportSize({ width: 1280, height: 800 });

		// the log saw the views
		const log = execFileSync("sqlite3", [path.join(DIR, "sealroom.db"), "SELECT CAST(data AS TEXT) FROM log_entries"], { encoding: "utf8" });
		check("views logged", /"lines":\[1,8\],"path":"src\/main.c"/.test(log) || /"path":"src\/main.c"/.test(log));
		check("diff logged", log.includes("\"type\":\"diff\""));
		for (const f of ["chart.png", "chart.gif", "bands.webp"])
			check("image view logged with its size: " + f, new RegExp('"image":\\{"bytes":\\d+,"height":120,"width":300\\},"lines":\\[1,8\\],"path":"img/' + f.replace(".", "\\.") + '"').test(log));
		check("find in file logged with the view", /"find":"filler_3","found":11,/.test(log));
		check("definitions logged", log.includes("\"type\":\"definitions\""));
		check("no console errors (CSP)", errors.length === 0, errors.join(" | "));

		// an expired grant: rob's ends in a few seconds
		const rob = JSON.parse(sr("user", "add", "rob", "--org", "evallab", "--role", "reviewer", "--json"));
		sr("nominate", "demo@2", "--reviewer", "rob", "--as", "otto");
		const end = Math.floor(Date.now() / 1000) + 25;
		vendorDecide(vkey, "approve", "demo@2", "--reviewer", "rob", "--from", "2020-01-01", "--until", "@" + end);
		const ctx2 = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
		const p2 = await ctx2.newPage();
		await login(p2, url, { login: "rob", password: rob.password, totp_secret: rob.totp_secret }, 0);
		await p2.goto(url + "/r/demo@2/blob/src/main.c");
		check("rob reads within his grant", (await p2.$$("#code .l")).length === 8);
		while (Date.now() / 1000 <= end + 0.5) await new Promise((r) => setTimeout(r, 500));
		const resp = await p2.goto(url + "/r/demo@2/blob/src/main.c");
		check("expired grant refused", resp.status() === 403, String(resp.status()));
		check("expired grant says so", ((await p2.textContent("#error")) || "").includes("expired"));
		check("expired grant shows no code", (await p2.$$("#code")).length === 0);
		await p2.screenshot({ path: path.join(OUT, "expired.png") });

		// a revoked session: revoking rita ends her session at once
		vendorDecide(vkey, "revoke", "demo@2", "--reviewer", "rita", "--reason", "e2e");
		await page.goto(url + "/r/demo@2/blob/src/main.c");
		check("revoked session: back to the login", page.url().endsWith("/login"), page.url());
		check("revoked session: no code", (await page.$$("#code")).length === 0);
	} finally {
		if (browser) await browser.close();
		await stop(proc);
		fs.rmSync(T, { recursive: true, force: true });
	}
}

lib.finish(main());
