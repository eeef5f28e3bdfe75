# login.py DEMO_JSON URL LOGIN COOKIE_FILE: logs in as an account of a demo's JSON line
# (password and TOTP code, with the form's CSRF field) and writes "sr_session=..." to
# COOKIE_FILE. Exits 1 when no session cookie came back.
import json, sys, ssl, hmac, hashlib, base64, struct, time, re
import urllib.request, urllib.parse, http.cookiejar
demo, u, who, out = sys.argv[1:5]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
jar = http.cookiejar.CookieJar()
op = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx), urllib.request.HTTPCookieProcessor(jar))
a = [x for x in json.load(open(demo))["accounts"] if x["login"] == who][0]
s = a["totp_secret"]; key = base64.b32decode(s + "=" * ((8 - len(s) % 8) % 8))
h = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest(); o = h[-1] & 15
form = op.open(u + "/login", timeout=30).read()
csrf = re.search(rb'name="csrf" value="([0-9a-f]+)"', form).group(1).decode()
try:
    op.open(urllib.request.Request(u + "/login", data=urllib.parse.urlencode({"login": who, "password": a["password"],
        "csrf": csrf, "totp": "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)}).encode()), timeout=30)
except urllib.error.HTTPError:
    pass
for c in jar:
    if c.name == "sr_session":
        open(out, "w").write("sr_session=" + c.value)
        sys.exit(0)
sys.exit(1)
