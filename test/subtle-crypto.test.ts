// crypto.subtle inside a function, checked against Node's own Web Crypto in this process.
import assert from "node:assert/strict";
import { createHash, createHmac, hkdfSync, pbkdf2Sync, webcrypto } from "node:crypto";
import { after, before, test } from "node:test";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;
let r: Record<string, unknown>;
const hex = (b: ArrayBuffer | Uint8Array) => Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString("hex");
const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));

before(async () => {
  node = await startTestNode({ hosts: 1 });
  await node.admin.deploy("subtle", {
    code: `
      const enc = new TextEncoder();
      const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
      const errorName = async (p) => { try { await p; return "no error"; } catch (e) { return e.name; } };
      export default { async fetch() {
        const s = crypto.subtle;
        const out = {};
        out.sha256 = hex(await s.digest("SHA-256", enc.encode("abc")));
        out.sha1 = hex(await s.digest({ name: "sha-1" }, enc.encode("abc")));
        out.sha512 = hex(await s.digest("SHA-512", new Uint8Array(0)));

        const hmacKey = await s.importKey("raw", enc.encode("key"), { name: "HMAC", hash: "SHA-256" }, true, ["sign", "verify"]);
        const mac = await s.sign("HMAC", hmacKey, enc.encode("message"));
        out.hmac = hex(mac);
        out.hmacVerify = [await s.verify("HMAC", hmacKey, mac, enc.encode("message")), await s.verify("HMAC", hmacKey, mac, enc.encode("other"))];
        out.hmacJwk = await s.exportKey("jwk", hmacKey);
        out.hmacAlgorithm = hmacKey.algorithm;

        const aesRaw = new Uint8Array(32).fill(7);
        const aes = await s.importKey("raw", aesRaw, "AES-GCM", true, ["encrypt", "decrypt"]);
        const iv = new Uint8Array(12).fill(1);
        const ct = await s.encrypt({ name: "AES-GCM", iv, additionalData: enc.encode("aad") }, aes, enc.encode("secret text"));
        out.aesCiphertext = hex(ct);
        out.aesRoundTrip = new TextDecoder().decode(await s.decrypt({ name: "AES-GCM", iv, additionalData: enc.encode("aad") }, aes, ct));
        out.aesTampered = await errorName(s.decrypt({ name: "AES-GCM", iv, additionalData: enc.encode("AAD") }, aes, ct));
        const generated = await s.generateKey({ name: "AES-GCM", length: 128 }, false, ["encrypt"]);
        out.aesGenerated = [generated.type, generated.extractable, generated.usages, await errorName(s.exportKey("raw", generated))];

        const ec = await s.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
        const ecSig = await s.sign({ name: "ECDSA", hash: "SHA-256" }, ec.privateKey, enc.encode("signed"));
        out.ecdsa = { publicRaw: hex(await s.exportKey("raw", ec.publicKey)), signature: hex(ecSig), sigLength: ecSig.byteLength,
          verify: await s.verify({ name: "ECDSA", hash: "SHA-256" }, ec.publicKey, ecSig, enc.encode("signed")),
          privateJwkKty: (await s.exportKey("jwk", ec.privateKey)).kty };

        const ed = await s.generateKey("Ed25519", true, ["sign", "verify"]);
        const edSig = await s.sign("Ed25519", ed.privateKey, enc.encode("signed"));
        out.ed25519 = { publicRaw: hex(await s.exportKey("raw", ed.publicKey)), signature: hex(edSig),
          verify: await s.verify("Ed25519", ed.publicKey, edSig, enc.encode("signed")),
          wrong: await s.verify("Ed25519", ed.publicKey, edSig, enc.encode("unsigned")) };

        const pw = await s.importKey("raw", enc.encode("password"), "PBKDF2", false, ["deriveBits", "deriveKey"]);
        out.pbkdf2 = hex(await s.deriveBits({ name: "PBKDF2", salt: enc.encode("salt"), iterations: 1000, hash: "SHA-256" }, pw, 256));
        const ikm = await s.importKey("raw", enc.encode("input key"), "HKDF", false, ["deriveBits"]);
        out.hkdf = hex(await s.deriveBits({ name: "HKDF", salt: enc.encode("salt"), info: enc.encode("info"), hash: "SHA-256" }, ikm, 128));
        const derived = await s.deriveKey({ name: "PBKDF2", salt: enc.encode("salt"), iterations: 1000, hash: "SHA-256" }, pw, { name: "AES-GCM", length: 256 }, true, ["encrypt"]);
        out.derivedKey = hex(await s.exportKey("raw", derived));

        out.errors = {
          unknownAlgorithm: await errorName(s.digest("MD5", enc.encode("x"))),
          wrongUsage: await errorName(s.sign("HMAC", await s.importKey("raw", enc.encode("k"), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]), enc.encode("x"))),
          emptyUsages: await errorName(s.generateKey({ name: "HMAC", hash: "SHA-256" }, true, [])),
          badKeyData: await errorName(s.importKey("raw", new Uint8Array(5), "AES-GCM", true, ["encrypt"])),
          notBuffer: await errorName(s.digest("SHA-256", "string")),
          badJwk: await errorName(s.importKey("jwk", { kty: "EC", crv: "P-256", x: "AAAA", y: "AAAA" }, { name: "ECDSA", namedCurve: "P-256" }, true, ["verify"])),
        };
        out.types = [typeof CryptoKey, typeof SubtleCrypto, Object.prototype.toString.call(crypto.subtle), ec.publicKey instanceof CryptoKey];
        return Response.json(out);
      } };`,
  });
  const res = await fetch(`${node.url}/fn/subtle`);
  assert.equal(res.status, 200, await res.clone().text());
  r = (await res.json()) as Record<string, unknown>;
});
after(() => node.kill());

test("digest matches Node for SHA-1/256/512", () => {
  assert.equal(r["sha256"], createHash("sha256").update("abc").digest("hex"));
  assert.equal(r["sha1"], createHash("sha1").update("abc").digest("hex"));
  assert.equal(r["sha512"], createHash("sha512").update("").digest("hex"));
});

test("HMAC sign/verify match Node, and JWK export is the standard shape", () => {
  assert.equal(r["hmac"], createHmac("sha256", "key").update("message").digest("hex"));
  assert.deepEqual(r["hmacVerify"], [true, false]);
  assert.deepEqual(r["hmacJwk"], { kty: "oct", k: Buffer.from("key").toString("base64url"), key_ops: ["sign", "verify"], ext: true, alg: "HS256" });
  assert.deepEqual(r["hmacAlgorithm"], { name: "HMAC", length: 24, hash: { name: "SHA-256" } });
});

test("AES-GCM ciphertext decrypts in Node; tampering is an OperationError; non-extractable keys stay inside", async () => {
  const key = await webcrypto.subtle.importKey("raw", new Uint8Array(32).fill(7), "AES-GCM", false, ["decrypt"]);
  const plain = await webcrypto.subtle.decrypt({ name: "AES-GCM", iv: new Uint8Array(12).fill(1), additionalData: new TextEncoder().encode("aad") }, key, unhex(r["aesCiphertext"] as string));
  assert.equal(new TextDecoder().decode(plain), "secret text");
  assert.equal(r["aesRoundTrip"], "secret text");
  assert.equal(r["aesTampered"], "OperationError");
  assert.deepEqual(r["aesGenerated"], ["secret", false, ["encrypt"], "InvalidAccessError"]);
});

test("ECDSA P-256 and Ed25519 signatures made in the isolate verify in Node", async () => {
  const ec = r["ecdsa"] as Record<string, unknown>;
  assert.equal(ec["sigLength"], 64, "IEEE P1363 r||s, as Web Crypto specifies");
  const ecKey = await webcrypto.subtle.importKey("raw", unhex(ec["publicRaw"] as string), { name: "ECDSA", namedCurve: "P-256" }, true, ["verify"]);
  assert.equal(await webcrypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, ecKey, unhex(ec["signature"] as string), new TextEncoder().encode("signed")), true);
  assert.equal(ec["verify"], true);
  assert.equal(ec["privateJwkKty"], "EC");
  const ed = r["ed25519"] as Record<string, unknown>;
  const edKey = await webcrypto.subtle.importKey("raw", unhex(ed["publicRaw"] as string), "Ed25519", true, ["verify"]);
  assert.equal(await webcrypto.subtle.verify("Ed25519", edKey, unhex(ed["signature"] as string), new TextEncoder().encode("signed")), true);
  assert.deepEqual([ed["verify"], ed["wrong"]], [true, false]);
});

test("PBKDF2 and HKDF derive what Node derives, deriveKey included", () => {
  assert.equal(r["pbkdf2"], pbkdf2Sync("password", "salt", 1000, 32, "sha256").toString("hex"));
  assert.equal(r["hkdf"], hex(new Uint8Array(hkdfSync("sha256", "input key", "salt", "info", 16))));
  assert.equal(r["derivedKey"], r["pbkdf2"]);
});

test("errors have the types the spec gives", () => {
  assert.deepEqual(r["errors"], {
    unknownAlgorithm: "NotSupportedError",
    wrongUsage: "InvalidAccessError",
    emptyUsages: "SyntaxError",
    badKeyData: "DataError",
    notBuffer: "TypeError",
    badJwk: "DataError",
  });
  assert.deepEqual(r["types"], ["function", "function", "[object SubtleCrypto]", true]);
});

test("every algorithm Node's Web Crypto has works in a function, and its keys and outputs interoperate with Node", async () => {
  await node.admin.deploy("subtle-more", {
    code: `
      const enc = new TextEncoder();
      const b64 = (b) => btoa(String.fromCharCode(...new Uint8Array(b)));
      export default { async fetch() {
        const s = crypto.subtle;
        const out = {};
        const rsa = await s.generateKey({ name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"]);
        out.rsaPss = { spki: b64(await s.exportKey("spki", rsa.publicKey)), sig: b64(await s.sign({ name: "RSA-PSS", saltLength: 32 }, rsa.privateKey, enc.encode("m"))),
          exponent: [...rsa.publicKey.algorithm.publicExponent], modulusLength: rsa.publicKey.algorithm.modulusLength };
        const p384 = await s.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, ["sign", "verify"]);
        out.p384 = { pkcs8: b64(await s.exportKey("pkcs8", p384.privateKey)), spki: b64(await s.exportKey("spki", p384.publicKey)) };
        const a = await s.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
        const b = await s.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
        const ab = await s.deriveBits({ name: "ECDH", public: b.publicKey }, a.privateKey, 256);
        const ba = await s.deriveBits({ name: "ECDH", public: a.publicKey }, b.privateKey, 256);
        out.ecdhAgrees = b64(ab) === b64(ba);
        const x = await s.generateKey({ name: "X25519" }, false, ["deriveKey"]);
        const y = await s.generateKey({ name: "X25519" }, false, ["deriveKey"]);
        const kx = await s.deriveKey({ name: "X25519", public: y.publicKey }, x.privateKey, { name: "AES-GCM", length: 256 }, true, ["encrypt"]);
        const ky = await s.deriveKey({ name: "X25519", public: x.publicKey }, y.privateKey, { name: "AES-GCM", length: 256 }, true, ["encrypt"]);
        out.x25519Agrees = b64(await s.exportKey("raw", kx)) === b64(await s.exportKey("raw", ky));
        const aesRaw = new Uint8Array(16).fill(3);
        const cbc = await s.importKey("raw", aesRaw, "AES-CBC", false, ["encrypt"]);
        out.cbc = b64(await s.encrypt({ name: "AES-CBC", iv: new Uint8Array(16) }, cbc, enc.encode("sixteen byte msg")));
        const ctr = await s.importKey("raw", aesRaw, "AES-CTR", false, ["encrypt"]);
        out.ctr = b64(await s.encrypt({ name: "AES-CTR", counter: new Uint8Array(16), length: 64 }, ctr, enc.encode("counter mode")));
        const kek = await s.importKey("raw", aesRaw, "AES-KW", false, ["wrapKey", "unwrapKey"]);
        const hmac = await s.generateKey({ name: "HMAC", hash: "SHA-256", length: 256 }, true, ["sign"]);
        const wrapped = await s.wrapKey("raw", hmac, kek, "AES-KW");
        const unwrapped = await s.unwrapKey("raw", wrapped, kek, "AES-KW", { name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
        out.wrapRoundTrip = b64(await s.exportKey("raw", unwrapped)) === b64(await s.exportKey("raw", hmac));
        out.nonExtractable = await s.exportKey("raw", cbc).then(() => "exported", (e) => e.name);
        out.badCurve = await s.generateKey({ name: "ECDSA", namedCurve: "P-999" }, true, ["sign"]).then(() => "made", (e) => e.name);
        out.notAKey = await s.sign("HMAC", { type: "secret" }, enc.encode("m")).then(() => "signed", (e) => e.name);
        return Response.json(out);
      } };`,
  });
  const res = await fetch(`${node.url}/fn/subtle-more`);
  assert.equal(res.status, 200, await res.clone().text());
  const m = (await res.json()) as Record<string, Record<string, unknown> & unknown>;
  const s = webcrypto.subtle;
  const b = (x: unknown) => Buffer.from(String(x), "base64");
  const pss = m["rsaPss"] as Record<string, unknown>;
  const rsaPublic = await s.importKey("spki", b(pss["spki"]), { name: "RSA-PSS", hash: "SHA-256" }, false, ["verify"]);
  assert.equal(await s.verify({ name: "RSA-PSS", saltLength: 32 }, rsaPublic, b(pss["sig"]), new TextEncoder().encode("m")), true);
  assert.deepEqual([pss["exponent"], pss["modulusLength"]], [[1, 0, 1], 2048]);
  const p384 = m["p384"] as Record<string, unknown>;
  const priv = await s.importKey("pkcs8", b(p384["pkcs8"]), { name: "ECDSA", namedCurve: "P-384" }, false, ["sign"]);
  const pub = await s.importKey("spki", b(p384["spki"]), { name: "ECDSA", namedCurve: "P-384" }, false, ["verify"]);
  const sig = await s.sign({ name: "ECDSA", hash: "SHA-384" }, priv, new Uint8Array([1]));
  assert.equal(await s.verify({ name: "ECDSA", hash: "SHA-384" }, pub, sig, new Uint8Array([1])), true, "P-384 keys exported as pkcs8/spki work in Node");
  const key = await s.importKey("raw", new Uint8Array(16).fill(3), "AES-CBC", false, ["encrypt"]);
  assert.equal(Buffer.from(await s.encrypt({ name: "AES-CBC", iv: new Uint8Array(16) }, key, new TextEncoder().encode("sixteen byte msg"))).toString("base64"), m["cbc"]);
  const ctr = await s.importKey("raw", new Uint8Array(16).fill(3), "AES-CTR", false, ["encrypt"]);
  assert.equal(Buffer.from(await s.encrypt({ name: "AES-CTR", counter: new Uint8Array(16), length: 64 }, ctr, new TextEncoder().encode("counter mode"))).toString("base64"), m["ctr"]);
  assert.equal(m["ecdhAgrees"], true);
  assert.equal(m["x25519Agrees"], true);
  assert.equal(m["wrapRoundTrip"], true);
  assert.deepEqual([m["nonExtractable"], m["badCurve"], m["notAKey"]], ["InvalidAccessError", "NotSupportedError", "TypeError"]);
});
