// Findings and the role pages in Debian's chromium (playwright-core): a reviewer selects
// lines with the mouse and with the keyboard and files a finding from the file view; the
// vendor lands on the vendor's page and sees both, the operator and the lab lead on theirs;
// a reviewer of another lab sees nothing of them. Screenshots at 1280x800 and 2560x1440 go
// to build/e2e/.
// Usage: node findings.test.js SEALROOM_BINARY OUT_DIR. Ends with "N passed, N failed".
"use strict";
const { chromium } = require("playwright-core");
const fs = require("fs");
const os = require("os");
const path = require("path");
const lib = require("./lib.js");
const { check, write, demo, stop, command, login, launch, finish } = lib;

const SR = path.resolve(process.argv[2] || "build/sealroom");
const OUT = path.resolve(process.argv[3] || "build/e2e");
const PORT = 30000 + ((process.pid + 7717) % 20000);
const T = fs.mkdtempSync(path.join(os.tmpdir(), "sealroom-e2e-findings-"));
const DIR = path.join(T, "fac");
const sr = command(SR, DIR);

const BIG = { width: 2560, height: 1440 }, SMALL = { width: 1280, height: 800 };

async function shots(page, name) {
	await page.setViewportSize(SMALL);
	await page.screenshot({ path: path.join(OUT, name + ".png") });
	await page.setViewportSize(BIG);
	await page.screenshot({ path: path.join(OUT, name + "-2560.png") });
	await page.setViewportSize(SMALL);
}

async function main() {
	fs.mkdirSync(OUT, { recursive: true });
	let src = "";
	for (let i = 1; i <= 40; i++) src += "static int e2e_finding_fn_" + i + "(int a) { return a * " + i + "; }\n";
	write(path.join(T, "src/main.c"), src);
	const { proc, info } = await demo(SR, DIR, PORT, path.join(T, "src"), "1");
	const url = info.url, acct = (l) => info.accounts.find((a) => a.login === l);
	sr("org", "add", "lab2", "--kind", "lab");
	const rob = JSON.parse(sr("user", "add", "rob", "--org", "lab2", "--role", "reviewer", "--json"));
	rob.login = "rob";

	let browser = null;
	try {
		browser = await launch(chromium);
		const errors = [];
		const open = async (who) => {
			const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: SMALL });
			const page = await ctx.newPage();
			// the refusals below are 404 pages on purpose; any other console error is a failure
			page.on("console", (m) => {
				if (m.type() === "error" && !/status of 404/.test(m.text())) errors.push(who.login + ": " + m.text());
			});
			await login(page, url, who, 0);
			return page;
		};

		// the mouse: click line 5, shift-click line 7, file
		const rita = await open(acct("rita"));
		check("the reviewer lands on the releases", rita.url().endsWith("/releases"), rita.url());
		await rita.goto(url + "/r/demo@1/blob/main.c");
		await rita.click("#L5 a.n");
		await rita.click("#L7 a.n", { modifiers: ["Shift"] });
		check("mouse: the range is selected", await lib.hashIs(rita, "#L5-L7"), await rita.evaluate(() => location.hash));
		check("mouse: the form has the range", (await rita.inputValue("#f-from")) === "5" && (await rita.inputValue("#f-to")) === "7");
		await rita.click("#finding-box summary");
		await rita.fill("#f-title", "Multiplier may wrap");
		await rita.selectOption("#f-severity", "high");
		await rita.fill("#f-cwe", "190");
		await rita.fill("#f-text", "the factor is not bounded before the product");
		await shots(rita, "finding-form");
		await Promise.all([rita.waitForNavigation(), rita.click("#f-submit")]);
		check("filed: the finding's page", /\/r\/demo@1\/findings\/1$/.test(rita.url()), rita.url());
		check("filed: at lines 5-7", ((await rita.textContent("#finding-1")) || "").includes("main.c:5-7"));
		check("filed: the timeline opens with it", (await rita.$$("#timeline li")).length === 1);
		const shown = (await rita.textContent("#finding-1")) || "";
		check("the title comes back through the cipher", !shown.includes("Multiplier may wrap"), shown.slice(0, 120));

		// the keyboard: j to line 12, x, j j, x (12-14), F opens the form with the title focused
		await rita.goto(url + "/r/demo@1/blob/main.c");
		for (let i = 0; i < 12; i++) await rita.keyboard.press("j");
		await rita.keyboard.press("x");
		await rita.keyboard.press("j");
		await rita.keyboard.press("j");
		await rita.keyboard.press("x");
		check("keyboard: the range is selected", await lib.hashIs(rita, "#L12-L14"), await rita.evaluate(() => location.hash));
		await rita.keyboard.press("Shift+F");
		check("keyboard: F opens the form", await rita.$eval("#finding-box", (d) => d.open));
		check("keyboard: the title has the focus", await rita.evaluate(() => document.activeElement && document.activeElement.id === "f-title"));
		check("keyboard: the form has the range", (await rita.inputValue("#f-from")) === "12" && (await rita.inputValue("#f-to")) === "14");
		await rita.keyboard.type("Unchecked input length");
		await Promise.all([rita.waitForNavigation(), rita.keyboard.press("Enter")]);
		check("keyboard: filed as finding 2", /\/findings\/2$/.test(rita.url()), rita.url());
		check("keyboard: at lines 12-14", ((await rita.textContent("#finding-2")) || "").includes("main.c:12-14"));

		// the vendor's page
		const vera = await open(acct("vera"));
		check("the vendor lands on the vendor's page", vera.url().endsWith("/vendor"), vera.url());
		check("vendor: both findings", (await vera.$$("#finding-1")).length === 1 && (await vera.$$("#finding-2")).length === 1);
		const vtext = await vera.textContent("main");
		check("vendor: the places", vtext.includes("main.c:5-7") && vtext.includes("main.c:12-14"));
		check("vendor: no title as text", !vtext.includes("Multiplier may wrap") && !vtext.includes("Unchecked input"));
		check("vendor: no code as text", !vtext.includes("e2e_finding_fn"));
		check("vendor: the decisions section", (await vera.$$("#decisions")).length === 1);
		// the exposure table comes at the log's next checkpoint (the room signs one every 2 s)
		for (let i = 0; i < 20 && !(await vera.$$("table.exposure")).length; i++) {
			await new Promise((r) => setTimeout(r, 500));
			await vera.reload();
		}
		check("vendor: the exposure names rita", ((await vera.textContent("table.exposure")) || "").includes("rita"));
		await shots(vera, "vendor");
		await Promise.all([vera.waitForNavigation(), vera.click("a.exposure")]);
		check("vendor: the exposure report's treemap", (await vera.$$("svg")).length >= 1);
		await shots(vera, "exposure");
		await Promise.all([vera.waitForNavigation(), vera.goto(url + "/vendor")]);
		await Promise.all([vera.waitForNavigation(), vera.click("#finding-1 a")]);
		check("vendor: the finding's page", /\/findings\/1$/.test(vera.url()), vera.url());
		await vera.selectOption("#state", "acknowledged");
		await Promise.all([vera.waitForNavigation(), vera.click("#state-form button")]);
		check("vendor: acknowledged, on the timeline", ((await vera.textContent("#timeline")) || "").includes("acknowledged"));

		// the operator and the lab lead
		const otto = await open(acct("otto"));
		check("the operator lands on the operator's page", otto.url().endsWith("/operator"), otto.url());
		check("operator: health", (await otto.$$("#health")).length === 1 && (await otto.$$("#log-size")).length === 1);
		check("operator: rita's grant, active", ((await otto.textContent("#engagements")) || "").includes("active"));
		check("operator: no finding", (await otto.$$("[id^=finding-]")).length === 0);
		await shots(otto, "operator");
		const lena = await open(acct("lena"));
		check("the lab lead lands on the lab's page", lena.url().endsWith("/lab"), lena.url());
		check("lab: both findings", (await lena.$$("#finding-1")).length === 1 && (await lena.$$("#finding-2")).length === 1);
		await shots(lena, "lab");

		// another lab sees nothing
		const robp = await open(rob);
		const r1 = await robp.goto(url + "/r/demo@1/findings");
		check("another lab: no findings listed", r1.status() === 200 && (await robp.$$("#none")).length === 1 && (await robp.$$("[id^=finding-]")).length === 0);
		const r2 = await robp.goto(url + "/r/demo@1/findings/1");
		check("another lab: not the finding", r2.status() === 404, String(r2.status()));
		const r3 = await robp.goto(url + "/vendor");
		check("another lab: not the vendor's page", r3.status() === 404, String(r3.status()));
		const r4 = await rita.goto(url + "/operator");
		check("a reviewer: not the operator's page", r4.status() === 404, String(r4.status()));
		check("no console errors (CSP)", errors.length === 0, errors.join(" | "));
	} finally {
		if (browser) await browser.close();
		await stop(proc);
		fs.rmSync(T, { recursive: true, force: true });
	}
}

finish(main());
