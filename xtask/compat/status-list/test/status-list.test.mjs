// Token Status Lists checked by someone else's code: @sd-jwt/jwt-status-list decodes our lists
// (it does not verify them) and jose verifies their signature — and the JWT access token's — through
// the server's public JWK Set, before and after a revocation. Starts the real token-server binary
// on a fresh SQLite file (or the store TOKEN_SERVER_TEST_DATABASE names), provisioned with the CLI.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { getListFromStatusListJWT, getStatusListFromJWT } from "@sd-jwt/jwt-status-list";
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from "jose";

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.TOKEN_SERVER_TEST_BIN ?? resolve(here, "../../../target/debug/token-server");
const dir = mkdtempSync(join(tmpdir(), "token-server-status-list-"));
const db = process.env.TOKEN_SERVER_TEST_DATABASE ?? join(dir, "status.sqlite");

// The lists' URIs are built from public_base_url: the server's own address, chosen up front.
const port = await new Promise((ok) => {
  const probe = createServer().listen(0, "127.0.0.1", () => {
    const { port } = probe.address();
    probe.close(() => ok(port));
  });
});
const base = `http://127.0.0.1:${port}`;
const env = { ...process.env, TOKEN_SERVER_PUBLIC_BASE_URL: base, TOKEN_SERVER_TENANCY_CACHE_MS: "0" };
const admin = (...args) =>
  JSON.parse(execFileSync(bin, ["--database", db, "--json", "admin", ...args], { encoding: "utf8", env }));

let server;
let serviceId;
let clientId;
let bearer;

before(async () => {
  const org = admin("org", "create", "--name", "status-list");
  const service = admin("service", "create", "--org", String(org.id), "--name", "status-list", "--sign-alg", "ES256");
  serviceId = String(service.id);
  admin("service", "update", "--service", serviceId, "--status-list-ttl", "300");
  clientId = admin("client", "create", "--service", serviceId).clientId;
  bearer = admin("credential", "create", "--service", serviceId).secret;
  server = spawn(bin, ["--database", db, "serve", "--listen", `127.0.0.1:${port}`], {
    stdio: ["ignore", "pipe", "inherit"],
    env,
  });
  const lines = createInterface({ input: server.stdout });
  await new Promise((ok, fail) => {
    server.on("exit", (code) => fail(new Error(`token-server exited with ${code}`)));
    lines.on("line", (line) => line.startsWith("token-server listening on") && ok());
  });
});

after(() => {
  server?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const call = async (path, body) => {
  const response = await fetch(`${base}/api/${serviceId}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
};

test("a JWT access token's status entry resolves to a signed list that @sd-jwt/jwt-status-list decodes", async () => {
  const jwks = createRemoteJWKSet(new URL(`${base}/api/${serviceId}/jwks`));
  const created = await call("/auth/token/create", { grantType: "CLIENT_CREDENTIALS", clientId });
  const accessToken = created.jwtAccessToken;
  const verified = await jwtVerify(accessToken, jwks, { typ: "at+jwt" });
  const { idx, uri } = getStatusListFromJWT(accessToken);
  assert.equal(verified.payload.status.status_list.idx, idx);
  assert.equal(uri, `${base}/api/${serviceId}/statuslists/1`);

  const fetchList = async () => {
    const response = await fetch(uri);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/statuslist+jwt");
    const jwt = await response.text();
    assert.equal(decodeProtectedHeader(jwt).typ, "statuslist+jwt");
    const { payload } = await jwtVerify(jwt, jwks, { typ: "statuslist+jwt" });
    assert.equal(payload.sub, uri);
    assert.equal(payload.ttl, 300);
    return getListFromStatusListJWT(jwt);
  };

  const list = await fetchList();
  assert.equal(list.getBitsPerStatus(), 1);
  assert.equal(list.getStatus(idx), 0, "valid");

  const revoked = await call("/auth/token/revoke", { accessTokenIdentifier: created.accessToken });
  assert.equal(revoked.count, 1);
  // A revocation shows in the served list within status_list_refresh_ms (1 s by default) plus one
  // render (docs/api.md): poll for up to three seconds.
  let status = 0;
  for (const started = Date.now(); status !== 1 && Date.now() - started < 3000; ) {
    status = (await fetchList()).getStatus(idx);
    if (status !== 1) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(status, 1, "invalid once revoked, within the refresh bound");

  const other = await call("/auth/token/create", { grantType: "CLIENT_CREDENTIALS", clientId });
  const entry = getStatusListFromJWT(other.jwtAccessToken);
  assert.notEqual(entry.idx, idx, "each JWT its own index");
  assert.equal((await fetchList()).getStatus(entry.idx), 0, "another token stays valid");
});
