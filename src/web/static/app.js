/* sealroom review room: line permalinks and keyboard navigation. No inline script. */
"use strict";
(function () {
	var code = document.getElementById("code");
	var lines = code ? code.querySelectorAll(".l[id]") : [];
	var cur = -1;

	/* line ids: L<n> (a file's lines, a diff's new side), O<n> (a diff's removed lines) */
	var side = "L";
	function byId(n) { return document.getElementById(side + n); }
	function parseHash() {
		var m = /^#([LO])(\d+)(?:-[LO](\d+))?$/.exec(location.hash);
		if (!m) return null;
		side = m[1];
		var a = +m[2], b = m[3] ? +m[3] : a;
		return a <= b ? [a, b] : [b, a];
	}
	function mark() {
		var i, r = parseHash(), old = document.querySelectorAll(".l.hl");
		for (i = 0; i < old.length; i++) old[i].classList.remove("hl");
		if (!r) return;
		for (i = r[0]; i <= r[1] && i - r[0] < 100000; i++) {
			var el = byId(i);
			if (el) el.classList.add("hl");
		}
		var first = byId(r[0]);
		if (first) {
			first.scrollIntoView({block: "center"});
			for (i = 0; i < lines.length; i++) if (lines[i] === first) cur = i;
		}
		var pl = document.getElementById("permalink");
		if (pl) pl.setAttribute("href", location.pathname + location.search + location.hash);
		selectFor(r[0], r[1]);
	}
	/* the finding form takes the selected lines (mouse: click, shift-click; keys: j/k, x
	 * to extend from the first line marked, F to file; f is find in file) */
	function selectFor(a, b) {
		var ff = document.getElementById("f-from"), ft = document.getElementById("f-to");
		if (ff && ft && side === "L") { ff.value = a; ft.value = b; }
	}
	var anchor = null;
	if (code) {
		code.addEventListener("click", function (ev) {
			var a = ev.target.closest ? ev.target.closest("a.n") : null;
			/* file views: <a class=n> without href; search results link elsewhere */
			if (!a || (a.getAttribute("href") && a.getAttribute("href").charAt(0) !== "#")) return;
			ev.preventDefault();
			var n = +a.getAttribute("data-n");
			var href = a.getAttribute("href"), s = href && href.charAt(1) === "O" ? "O" : "L";
			if (ev.shiftKey && anchor && anchor[0] === s) {
				var lo = Math.min(anchor[1], n), hi = Math.max(anchor[1], n);
				history.replaceState(null, "", "#" + s + lo + "-" + s + hi);
			} else {
				anchor = [s, n];
				history.replaceState(null, "", "#" + s + n);
			}
			mark();
		});
	}
	window.addEventListener("hashchange", mark);
	/* long lines wrap on request: w or the wrap box, remembered by the browser */
	var wrapBox = document.getElementById("wrap");
	function setWrap(on) {
		if (!code || code.classList.contains("results")) return;
		code.classList.toggle("wrap", on);
		if (wrapBox) wrapBox.checked = on;
		try { localStorage.setItem("sr-wrap", on ? "1" : ""); } catch (e) { /* storage refused: this page only */ }
	}
	try { if (localStorage.getItem("sr-wrap")) setWrap(true); } catch (e) { /* no storage */ }
	if (wrapBox) wrapBox.addEventListener("change", function () { setWrap(wrapBox.checked); });
	mark();

	/* a long file comes in windows: the next one is asked for as the reader scrolls near
	 * the end (each is charged to the budget when first shown, like a page) */
	var next = document.getElementById("next-window");
	if (code && next && "IntersectionObserver" in window && window.fetch) {
		var busy = false, end = document.createElement("div");
		end.className = "more";
		/* after the view (the code and the outline beside it), not between them */
		var host = code.parentNode.classList.contains("view") ? code.parentNode : code;
		host.parentNode.insertBefore(end, host.nextSibling);
		var io = new IntersectionObserver(function (es) {
			if (busy || !next || !es[0].isIntersecting) return;
			busy = true;
			fetch(next.getAttribute("href") + "&window=1", {credentials: "same-origin"}).then(function (r) {
				return r.text().then(function (t) { return {ok: r.ok, t: t}; });
			}).then(function (res) {
				var doc = new DOMParser().parseFromString(res.t, "text/html");
				var w = doc.getElementById("window"), i;
				if (!res.ok || !w) { /* refused: say why, ask no more */
					var e = doc.getElementById("error"), p = document.createElement("p");
					p.className = "error";
					p.textContent = e ? e.textContent : "the next lines could not be shown";
					end.appendChild(p);
					io.disconnect();
					return;
				}
				var ls = w.querySelectorAll(".l[id]");
				for (i = 0; i < ls.length; i++) code.appendChild(document.importNode(ls[i], true));
				lines = code.querySelectorAll(".l[id]");
				finds = code.querySelectorAll("mark.f");
				var b = doc.getElementById("budget"), hb = document.getElementById("budget");
				if (b && hb) hb.textContent = b.textContent;
				var n = w.getAttribute("data-next");
				if (n) next.setAttribute("href", n);
				else { next = null; io.disconnect(); }
				busy = false;
			}).catch(function () { io.disconnect(); });
		}, {rootMargin: "400px"});
		io.observe(end);
	}

	function setCur(i) {
		if (!lines.length) return;
		if (cur >= 0 && lines[cur]) lines[cur].classList.remove("cur");
		cur = Math.max(0, Math.min(lines.length - 1, i));
		lines[cur].classList.add("cur");
		lines[cur].scrollIntoView({block: "nearest"});
		if (lastDef && !lines[cur].contains(lastDef)) { lastDef.classList.remove("focus"); lastDef = null; }
	}
	var lastDef = null;
	/* every name has its references; a name with a definition (a.d, a link) has that too.
	 * A name with none (a.u) is asked by its place in the file view: its line and its
	 * number among the line's names (the page carries no code a link could name) */
	var NAMES = "a.d, a.u";
	var acts = document.createElement("div");
	acts.id = "name-actions";
	acts.innerHTML = '<a id="act-def" href="#">definition (g)</a><a id="act-refs" href="#">references (r)</a>';
	document.body.appendChild(acts);
	function refsHref(a) {
		if (a.classList.contains("d")) return a.getAttribute("href").replace("/def?", "/refs?");
		var l = a.closest(".l[id]"), c = l ? l.querySelector(".c") : null;
		if (!c || !code || !code.contains(a) || location.pathname.indexOf("/blob/") < 0) return null;
		var k = Array.prototype.indexOf.call(c.querySelectorAll(NAMES), a);
		return location.pathname.replace("/blob/", "/refs/") + "?line=" + l.id.slice(1) + "&k=" + k;
	}
	function nameAt(el) {
		var a = el && el.closest ? el.closest(NAMES) : null;
		return a && refsHref(a) ? a : null;
	}
	function showActs(a) {
		var r = a.getBoundingClientRect(), d = acts.querySelector("#act-def");
		d.style.display = a.classList.contains("d") ? "" : "none";
		if (a.classList.contains("d")) d.setAttribute("href", a.getAttribute("href"));
		acts.querySelector("#act-refs").setAttribute("href", refsHref(a));
		acts.style.left = (r.left + window.scrollX) + "px";
		acts.style.top = (r.bottom + window.scrollY + 2) + "px";
		acts.classList.add("on");
	}
	var hideTimer = null;
	function onName(ev) {
		var a = nameAt(ev.target);
		if (a) {
			lastDef = a;
			if (hideTimer) { clearTimeout(hideTimer); hideTimer = null; }
			showActs(a);
		} else if (ev.target.closest && ev.target.closest("#name-actions")) {
			if (hideTimer) { clearTimeout(hideTimer); hideTimer = null; }
		} else if (acts.classList.contains("on") && !hideTimer) {
			hideTimer = setTimeout(function () { acts.classList.remove("on"); hideTimer = null; }, 700);
		}
	}
	document.addEventListener("mouseover", onName);
	document.addEventListener("focusin", onName);
	/* ? shows the keys */
	var help = document.createElement("div");
	help.id = "help";
	help.innerHTML = "<table>" + [["j / k", "next / previous line (or entry)"], ["Enter", "open the entry"],
		["g", "definition of the name under the mouse, or on the current line"],
		["r", "references of that name"], ["h / l", "previous / next name on the current line"], ["n / N", "next / previous match of find in file"],
		["f", "find in this file"], ["w", "wrap long lines (or not)"], ["p", "go to a file (the finder beside the code)"],
		["x", "extend the selection to the current line"], ["F", "file a finding on the selected lines"],
		["t", "the release's tree"], ["/", "search"], ["?", "this help"],
		["Esc", "close"]].map(function (k) { return "<tr><td>" + k[0] + "</td><td>" + k[1] + "</td></tr>"; }).join("") +
		"</table>";
	document.body.appendChild(help);
	function curName() {
		var d = lastDef;
		/* on the current line: its first name with a definition, else its first name */
		if (!d && cur >= 0 && lines[cur]) d = lines[cur].querySelector("a.d") || nameAt(lines[cur].querySelector(NAMES));
		return d;
	}
	function items() { return document.querySelectorAll("#tree li a, #changes li a, #defs li a"); }
	var item = -1;
	/* find in file: the server marks the matches of the window; n / N step through them,
	 * then on to the window after (the one the scrolling would load next) or before */
	var finds = document.querySelectorAll("#code mark.f"), fcur = -1;
	var findbar = document.getElementById("findbar");
	function stepFind(d) {
		if (fcur >= 0 && finds[fcur]) finds[fcur].classList.remove("cur");
		var i = fcur + d;
		if (i >= finds.length || i < 0) {
			var go = d > 0 ? (next || document.getElementById("find-next")) : document.getElementById("find-prev");
			if (go) { location.href = go.getAttribute("href").replace(/#.*$/, "") + (d > 0 ? "#find-first" : "#find-last"); return; }
			if (!finds.length) return;
			i = d > 0 ? 0 : finds.length - 1;
		}
		fcur = i;
		finds[fcur].classList.add("cur");
		finds[fcur].scrollIntoView({block: "center"});
		var cnt = document.getElementById("find-count");
		if (cnt && !cnt.getAttribute("data-total")) cnt.setAttribute("data-total", cnt.textContent);
		if (cnt) cnt.textContent = (fcur + 1) + " of " + finds.length + " here · " + cnt.getAttribute("data-total");
	}
	if (finds.length && location.hash === "#find-last") { fcur = finds.length; stepFind(-1); }
	else if (finds.length && !parseHash()) stepFind(1);
	else if (finds.length) {
		/* arriving at #L<n>: start at that line's first match */
		var tl = byId(parseHash()[0]);
		for (var fi = 0; fi < finds.length; fi++) if (tl && tl.contains(finds[fi])) { fcur = fi - 1; stepFind(1); break; }
	}
	/* the file finder beside the code: the paths matching what is typed, best first; the
	 * arrows choose, Enter opens */
	var finder = document.getElementById("finder"), flist = document.getElementById("finder-list");
	var fsel = -1, fseq = 0, ftimer = null;
	function selFile(i) {
		var li = flist.children;
		if (fsel >= 0 && li[fsel]) li[fsel].classList.remove("sel");
		if (!li.length) { fsel = -1; return; }
		fsel = Math.max(0, Math.min(li.length - 1, i));
		li[fsel].classList.add("sel");
		li[fsel].scrollIntoView({block: "nearest"});
	}
	if (finder && flist && window.fetch) {
		finder.addEventListener("input", function () {
			if (ftimer) clearTimeout(ftimer);
			ftimer = setTimeout(function () {
				var v = finder.value, seq = ++fseq;
				if (!v) { flist.hidden = true; flist.textContent = ""; fsel = -1; return; }
				fetch(finder.form.getAttribute("action") + "?frag=1&q=" + encodeURIComponent(v), {credentials: "same-origin"})
					.then(function (r) { return r.text(); }).then(function (t) {
						if (seq !== fseq) return;
						var ul = new DOMParser().parseFromString(t, "text/html").getElementById("files"), i;
						flist.textContent = "";
						fsel = -1;
						if (ul) for (i = 0; i < ul.children.length; i++) flist.appendChild(document.importNode(ul.children[i], true));
						flist.hidden = false;
						selFile(0);
					}).catch(function () { /* the finder stays as it was */ });
			}, 120);
		});
		finder.addEventListener("keydown", function (ev) {
			if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
				ev.preventDefault();
				selFile(fsel + (ev.key === "ArrowDown" ? 1 : -1));
			} else if (ev.key === "Enter" && fsel >= 0 && flist.children[fsel]) {
				ev.preventDefault();
				location.href = flist.children[fsel].querySelector("a").getAttribute("href");
			}
		});
	}
	document.addEventListener("keydown", function (ev) {
		var t = ev.target.tagName;
		var fq = document.getElementById("find-q");
		if (fq && (ev.ctrlKey || ev.metaKey) && (ev.key === "f" || ev.key === "F")) {
			/* the page's text is cipher: the browser's find cannot see the code */
			ev.preventDefault();
			fq.focus();
			fq.select();
			return;
		}
		if (t === "INPUT" && ev.key === "Escape") { ev.target.blur(); return; }
		if (t === "INPUT" || t === "TEXTAREA" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
		if (ev.key === "f" && fq) { ev.preventDefault(); fq.focus(); fq.select(); return; }
		if (ev.key === "p" && finder) { ev.preventDefault(); finder.focus(); finder.select(); return; }
		if ((ev.key === "n" || ev.key === "N") && findbar) { stepFind(ev.key === "n" ? 1 : -1); return; }
		var nav = document.getElementById("nav-tree");
		if (ev.key === "/") {
			var q = document.getElementById("bigq") || document.getElementById("q");
			if (q) { ev.preventDefault(); q.focus(); }
		} else if (ev.key === "t") {
			if (nav) location.href = nav.getAttribute("href");
		} else if (ev.key === "j" || ev.key === "k") {
			if (lines.length) { setCur(cur + (ev.key === "j" ? 1 : -1)); return; }
			var it = items();
			if (!it.length) return;
			if (item >= 0 && it[item]) it[item].parentNode.classList.remove("focus");
			item = Math.max(0, Math.min(it.length - 1, item + (ev.key === "j" ? 1 : -1)));
			it[item].parentNode.classList.add("focus");
			it[item].focus();
		} else if ((ev.key === "x" || ev.key === "F") && lines.length && cur >= 0) {
			var n = +lines[cur].id.slice(1), h = parseHash();
			if (ev.key === "x") {
				var lo = h ? Math.min(h[0], n) : n, hi = h ? Math.max(h[1], n) : n;
				history.replaceState(null, "", "#L" + lo + (hi > lo ? "-L" + hi : ""));
				mark();
			} else {
				if (!h) { history.replaceState(null, "", "#L" + n); mark(); }
				var box = document.getElementById("finding-box"), title = document.getElementById("f-title");
				if (box && title) { ev.preventDefault(); box.open = true; title.focus(); }
			}
		} else if (ev.key === "g") {
			var d = curName();
			if (d && d.classList.contains("d")) location.href = d.getAttribute("href");
		} else if (ev.key === "r") {
			var rd = curName();
			if (rd) location.href = refsHref(rd);
		} else if ((ev.key === "h" || ev.key === "l") && lines.length && cur >= 0) {
			var ns = lines[cur].querySelectorAll(NAMES), ni = Array.prototype.indexOf.call(ns, lastDef);
			if (!ns.length || !nameAt(ns[0])) return;
			ni = ni < 0 ? (ev.key === "l" ? 0 : ns.length - 1) : Math.max(0, Math.min(ns.length - 1, ni + (ev.key === "l" ? 1 : -1)));
			if (lastDef) lastDef.classList.remove("focus");
			lastDef = ns[ni];
			lastDef.classList.add("focus");
			showActs(lastDef);
		} else if (ev.key === "w" && code) {
			setWrap(!code.classList.contains("wrap"));
		} else if (ev.key === "?") {
			help.classList.toggle("on");
		} else if (ev.key === "Escape") {
			help.classList.remove("on");
			acts.classList.remove("on");
		} else if (ev.key === "Enter" && item >= 0) {
			var its = items();
			if (its[item]) location.href = its[item].getAttribute("href");
		}
	});

	/* the print form asks for the lines on the screen (as they scroll by), not the whole
	 * file, until the reader types a range of their own */
	var pf = document.getElementById("print");
	if (pf && code && pf.elements.from && pf.elements.to) {
		var typed = false, queued = false;
		pf.addEventListener("input", function () { typed = true; });
		var onScreen = function () {
			queued = false;
			if (typed) return;
			var i, top = 0, bot = 0, head = 0, h = window.innerHeight, m = document.querySelector("header.top");
			if (m) head = Math.max(0, m.getBoundingClientRect().bottom);
			for (i = 0; i < lines.length; i++) {
				var r = lines[i].getBoundingClientRect();
				if (r.bottom > head && r.top < h) {
					var n = +lines[i].id.slice(1);
					if (!top) top = n;
					bot = n;
				} else if (top) break;
			}
			if (top) { pf.elements.from.value = top; pf.elements.to.value = bot; }
		};
		window.addEventListener("scroll", function () {
			if (!queued) { queued = true; window.requestAnimationFrame(onScreen); }
		});
		pf.addEventListener("submit", onScreen);
		onScreen();
	}
})();
