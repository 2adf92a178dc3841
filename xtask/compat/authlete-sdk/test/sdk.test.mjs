// The official TypeScript SDK of the token-management API, pointed at our server, unchanged.
// Starts the real token-server binary on a fresh SQLite file (or the store TOKEN_SERVER_TEST_DATABASE names), provisions it with the admin CLI,
// and checks each call's answer passes the SDK's own response validation and means what it says.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createHash, generateKeyPairSync, randomUUID, sign } from "node:crypto";

import { Authlete } from "@authlete/typescript-sdk";
import * as errors from "@authlete/typescript-sdk/models/errors";

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.TOKEN_SERVER_TEST_BIN ?? resolve(here, "../../../target/debug/token-server");
const dir = mkdtempSync(join(tmpdir(), "token-server-sdk-"));
// TOKEN_SERVER_TEST_DATABASE runs the same suite on another store (cargo xtask test: PostgreSQL).
const db = process.env.TOKEN_SERVER_TEST_DATABASE ?? join(dir, "sdk.sqlite");

const admin = (...args) => JSON.parse(execFileSync(bin, ["--database", db, "--json", "admin", ...args], { encoding: "utf8" }));

let server;
let authlete;
let organization;
let serviceId;
let clientId;

before(async () => {
  const org = admin("org", "create", "--name", "sdk");
  const service = admin("service", "create", "--org", String(org.id), "--name", "sdk",
    "--scopes", "history.read,timeline.read,openid", "--sign-alg", "ES256");
  serviceId = String(service.id);
  clientId = admin("client", "create", "--service", serviceId, "--alias", "sdk-app").clientId;
  const bearer = admin("credential", "create", "--service", serviceId).secret;
  const orgBearer = admin("credential", "create", "--org", String(org.id)).secret;

  server = spawn(bin, ["--database", db, "serve", "--listen", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: server.stdout });
  const serverURL = await new Promise((resolve, reject) => {
    server.on("exit", (code) => reject(new Error(`token-server exited with ${code}`)));
    lines.on("line", (line) => {
      const match = line.match(/^token-server listening on (\S+)/);
      if (match) resolve(match[1]);
    });
  });
  authlete = new Authlete({ serverURL, bearer });
  organization = new Authlete({ serverURL, bearer: orgBearer });
});

after(() => {
  server?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const create = (grantType, extra = {}) =>
  authlete.token.management.create({
    serviceId,
    tokenCreateRequest: { grantType, clientId, subject: "john", scopes: ["history.read", "timeline.read"], ...extra },
  });

const introspect = (token) => authlete.introspection.process({ serviceId, introspectionRequest: { token } });

const sha256 = (value) => createHash("sha256").update(value).digest("base64url");

test("token.management.create works for several grant types, as in the document's example", async () => {
  for (const grantType of ["AUTHORIZATION_CODE", "PASSWORD", "CLIENT_CREDENTIALS", "DEVICE_CODE", "JWT_BEARER"]) {
    const result = await create(grantType);
    assert.equal(result.resultCode, "A109001");
    assert.equal(result.action, "OK");
    assert.equal(result.grantType, grantType);
    assert.equal(result.clientId, clientId);
    assert.deepEqual(result.scopes, ["history.read", "timeline.read"]);
    assert.equal(result.tokenType, "Bearer");
    assert.equal(typeof result.accessToken, "string");
    assert.ok(result.expiresAt > Date.now(), "expiresAt is in milliseconds");
    assert.equal(result.expiresIn, 3600);
    assert.equal(result.refreshToken === undefined, grantType === "CLIENT_CREDENTIALS");
    assert.equal(typeof result.jwtAccessToken, "string");
  }
  const rich = await create("AUTHORIZATION_CODE", {
    properties: [{ key: "plan", value: "gold" }],
    authorizationDetails: { elements: [{ type: "payment", actions: ["initiate"] }] },
  });
  assert.deepEqual(rich.authorizationDetails.elements[0].type, "payment");
  assert.equal(rich.properties[0].value, "gold");
});

test("tokens introspect as issued (process and standardProcess)", async () => {
  const created = await create("AUTHORIZATION_CODE");
  const info = await introspect(created.accessToken);
  assert.equal(info.action, "OK");
  assert.equal(info.subject, "john");
  assert.equal(info.clientId, clientId);
  assert.deepEqual(info.scopes, ["history.read", "timeline.read"]);
  assert.equal(info.usable, true);
  assert.equal(info.expiresAt, created.expiresAt);

  const standard = await authlete.introspection.standardProcess({
    serviceId,
    standardIntrospectionRequest: { parameters: `token=${created.accessToken}&token_type_hint=access_token` },
  });
  assert.equal(standard.action, "OK");
  const content = JSON.parse(standard.responseContent);
  assert.equal(content.active, true);
  assert.equal(content.sub, "john");
  assert.equal(content.scope, "history.read timeline.read");
  assert.equal(content.client_id, String(clientId));

  const unknown = await introspect("never-issued");
  assert.equal(unknown.action, "UNAUTHORIZED");
  assert.equal(unknown.existent, false);
});

test("token.management.list counts and pages", async () => {
  const before = await authlete.token.management.list({ serviceId, subject: "listed" });
  assert.equal(before.totalCount, 0);
  for (let i = 0; i < 3; i++) {
    await authlete.token.management.create({
      serviceId,
      tokenCreateRequest: { grantType: "PASSWORD", clientId, subject: "listed" },
    });
  }
  const page = await authlete.token.management.list({ serviceId, subject: "listed", clientIdentifier: "sdk-app", start: 0, end: 2 });
  assert.equal(page.totalCount, 3);
  assert.equal(page.accessTokens.length, 2);
  assert.equal(page.client.clientId, clientId);
  assert.equal(page.accessTokens[0].subject, "listed");
  assert.equal(page.accessTokens[0].grantType, "PASSWORD");
  // A generated value's published hash leads with its token's ID (docs/api.md, "Token values").
  assert.match(page.accessTokens[0].accessTokenHash, /^[0-9a-f]{11}[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
});

test("token.management.update changes the expiry", async () => {
  const created = await create("AUTHORIZATION_CODE");
  const expiresAt = Date.now() + 10 * 60 * 1000;
  const updated = await authlete.token.management.update({
    serviceId,
    tokenUpdateRequest: { accessToken: created.accessToken, accessTokenExpiresAt: expiresAt, scopes: ["openid"] },
  });
  assert.equal(updated.resultCode, "A135001");
  assert.equal(updated.action, "OK");
  assert.equal(updated.accessTokenExpiresAt, expiresAt);
  const info = await introspect(created.accessToken);
  assert.equal(info.expiresAt, expiresAt);
  assert.deepEqual(info.scopes, ["openid"]);
});

test("token.management.revoke and revocation.process make tokens unusable", async () => {
  const one = await create("AUTHORIZATION_CODE");
  const revoked = await authlete.token.management.revoke({
    serviceId,
    tokenRevokeRequest: { accessTokenIdentifier: one.accessToken },
  });
  assert.equal(revoked.resultCode, "A312001");
  assert.equal(revoked.count, 1);
  assert.equal((await introspect(one.accessToken)).action, "UNAUTHORIZED");

  const two = await create("AUTHORIZATION_CODE");
  const rfc7009 = await authlete.revocation.process({
    serviceId,
    revocationRequest: { parameters: `token=${two.accessToken}&token_type_hint=access_token`, clientId: String(clientId) },
  });
  assert.equal(rfc7009.action, "OK");
  assert.equal(rfc7009.resultCode, "A113001");
  assert.equal((await introspect(two.accessToken)).usable, false);

  const noClient = await authlete.revocation.process({ serviceId, revocationRequest: { parameters: "token=x" } });
  assert.equal(noClient.action, "INVALID_CLIENT");
});

test("token.management.delete removes a token (by value or by hash)", async () => {
  // By the hash the list publishes: `<token ID>.<SHA-256>` for a generated value.
  const created = await create("PASSWORD", { subject: "deleted-by-hash" });
  const listed = await authlete.token.management.list({ serviceId, subject: "deleted-by-hash" });
  const published = listed.accessTokens[0].accessTokenHash;
  assert.equal(published, `${created.tokenId}.${sha256(created.accessToken)}`);
  assert.equal(await authlete.token.management.delete({ serviceId, accessTokenIdentifier: published }), undefined);
  assert.equal((await introspect(created.accessToken)).existent, false);

  // A caller-supplied value is named by its bare SHA-256, as before.
  const supplied = `caller-value-${Date.now()}`;
  await create("PASSWORD", { accessToken: supplied });
  assert.equal(await authlete.token.management.delete({ serviceId, accessTokenIdentifier: sha256(supplied) }), undefined);
  assert.equal((await introspect(supplied)).existent, false);

  // By value.
  const byValue = await create("PASSWORD");
  assert.equal(await authlete.token.management.delete({ serviceId, accessTokenIdentifier: byValue.accessToken }), undefined);
  assert.equal((await introspect(byValue.accessToken)).existent, false);
});

test("introspection.process checks the client's DPoP proof (dpop, htm, htu)", async () => {
  // The client's key and proofs, made with node's own crypto (not our signer).
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  const jkt = sha256(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }));
  const created = await create("AUTHORIZATION_CODE", { dpopKeyThumbprint: jkt });
  const htu = "https://api.example.com/orders";
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const proof = (claims) => {
    const input = `${b64({ typ: "dpop+jwt", alg: "ES256", jwk })}.${b64({
      htm: "GET", htu, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ath: sha256(created.accessToken), ...claims,
    })}`;
    return `${input}.${sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
  };
  const check = (dpop) =>
    authlete.introspection.process({ serviceId, introspectionRequest: { token: created.accessToken, dpop, htm: "GET", htu } });

  const valid = proof({});
  const ok = await check(valid);
  assert.equal(ok.action, "OK");
  assert.equal(ok.resultCode, "A056001");
  const replayed = await check(valid);
  assert.equal(replayed.action, "UNAUTHORIZED");
  assert.match(replayed.responseContent, /^DPoP error="invalid_dpop_proof"/);
  const wrongMethod = await check(proof({ htm: "POST" }));
  assert.equal(wrongMethod.resultCode, "A056207");
  const noProof = await introspect(created.accessToken);
  assert.equal(noProof.action, "UNAUTHORIZED");
  assert.match(noProof.responseContent, /^DPoP error="invalid_token".*algs="/);
});

test("the JWK Set verifies the JWT access token's kid", async () => {
  const jwks = await authlete.jwkSetEndpoint.serviceJwksGetApi({ serviceId });
  assert.equal(jwks.keys.length, 1);
  assert.equal(jwks.keys[0].alg, "ES256");
  assert.equal(jwks.keys[0].d, undefined, "never a private key");
  const created = await create("AUTHORIZATION_CODE");
  const header = JSON.parse(Buffer.from(created.jwtAccessToken.split(".")[0], "base64url").toString());
  assert.equal(header.kid, jwks.keys[0].kid);
  assert.equal(header.typ, "at+jwt");
});

test("a rejected request surfaces as the SDK's typed ResultError with our resultCode", async () => {
  await assert.rejects(
    authlete.token.management.create({ serviceId, tokenCreateRequest: { grantType: "AUTHORIZATION_CODE", clientId } }),
    (error) => {
      assert.ok(error instanceof errors.ResultError, `got ${error?.constructor?.name}: ${error}`);
      assert.equal(error.resultCode, "A109201");
      assert.match(error.resultMessage, /subject/);
      assert.equal(error.statusCode, 400);
      return true;
    },
  );
  const foreign = new Authlete({ serverURL: authlete._options.serverURL, bearer: "sat_not-a-credential" });
  await assert.rejects(
    foreign.token.management.list({ serviceId }),
    (error) => error instanceof errors.ResultError && error.resultCode === "A001202" && error.statusCode === 401,
  );
});

// Not found is HTTP 404 here; the SDK types 400/401/403/500 as ResultError and surfaces other
// statuses as its default error, with our body as sent.
const notFound = (code) => (e) =>
  e instanceof errors.AuthleteDefaultError && e.statusCode === 404 && JSON.parse(e.body).resultCode === code;

test("service.create/get/list/update/delete with the Organization Token", async () => {
  const created = await organization.service.create({
    serviceName: "sdk-made",
    issuer: "https://sdk.example",
    supportedScopes: [{ name: "orders.read" }, { name: "orders.write" }],
    supportedGrantTypes: ["CLIENT_CREDENTIALS", "REFRESH_TOKEN"],
    accessTokenDuration: 600,
    refreshTokenDuration: 1200,
    accessTokenSignAlg: "EdDSA",
  });
  const id = String(created.apiKey);
  assert.equal(created.serviceName, "sdk-made");
  assert.deepEqual(created.supportedScopes.map((s) => s.name), ["orders.read", "orders.write"]);
  assert.equal(created.accessTokenSignAlg, "EdDSA");

  const got = await organization.service.get({ serviceId: id });
  assert.deepEqual(got, created);
  const list = await organization.service.list({});
  assert.ok(list.services.some((s) => String(s.apiKey) === id), "listed");
  assert.ok(list.services.some((s) => String(s.apiKey) === serviceId), "with the suite's service");

  const updated = await organization.service.update({ serviceId: id, service: { serviceName: "renamed", accessTokenDuration: 900 } });
  assert.equal(updated.serviceName, "renamed");
  assert.equal(updated.accessTokenDuration, 900);
  assert.equal(updated.issuer, "https://sdk.example", "members absent stay");

  // A member we do not store, with a value that says it is used, is refused by name.
  await assert.rejects(
    organization.service.update({ serviceId: id, service: { pkceRequired: true } }),
    (e) => e instanceof errors.ResultError && e.resultCode === "A210201" && e.resultMessage.includes("pkceRequired"),
  );
  // A Service Access Token manages no service, not even its own.
  await assert.rejects(
    authlete.service.get({ serviceId }),
    (e) => e instanceof errors.ResultError && e.resultCode === "A001214",
  );

  await organization.service.delete({ serviceId: id });
  await assert.rejects(
    organization.service.get({ serviceId: id }),
    notFound("A001204"),
  );
});

test("client.create/get/list/update/delete, by ID and alias", async () => {
  const created = await authlete.client.create({
    serviceId,
    client: { clientName: "sdk-client", clientIdAlias: "sdk-client-alias", grantTypes: ["CLIENT_CREDENTIALS"] },
  });
  const id = String(created.clientId);
  assert.equal(created.clientIdAliasEnabled, true);
  assert.deepEqual(await authlete.client.get({ serviceId, clientId: id }), created);
  assert.deepEqual(await authlete.client.get({ serviceId, clientId: "sdk-client-alias" }), created);

  const list = await authlete.client.list({ serviceId });
  assert.ok(list.clients.some((c) => String(c.clientId) === id));
  assert.equal(list.totalCount, list.clients.length);

  const updated = await authlete.client.update({
    serviceId,
    clientId: "sdk-client-alias",
    client: { clientName: "renamed", grantTypes: ["CLIENT_CREDENTIALS", "REFRESH_TOKEN"] },
  });
  assert.equal(updated.clientName, "renamed");
  assert.deepEqual(updated.grantTypes, ["CLIENT_CREDENTIALS", "REFRESH_TOKEN"]);
  assert.equal(updated.clientIdAlias, "sdk-client-alias", "members absent stay");

  // Its tokens end with it.
  const token = await authlete.token.management.create({
    serviceId,
    tokenCreateRequest: { grantType: "CLIENT_CREDENTIALS", clientId: Number(id) },
  });
  assert.equal((await introspect(token.accessToken)).action, "OK");
  await authlete.client.delete({ serviceId, clientId: id });
  assert.equal((await introspect(token.accessToken)).action, "UNAUTHORIZED");
  await assert.rejects(
    authlete.client.get({ serviceId, clientId: id }),
    notFound("A210205"),
  );
});

test("client.management.listAuthorizations and deleteAuthorizations end a user's grant to one client", async () => {
  const subject = `grant-${randomUUID()}`;
  const token = await create("AUTHORIZATION_CODE", { subject });
  const list = await authlete.client.management.listAuthorizations({
    serviceId,
    subjectPathParameter: subject,
    subjectQueryParameter: subject,
  });
  assert.equal(list.subject, subject);
  assert.deepEqual(list.clients.map((c) => c.clientId), [clientId]);
  assert.equal(list.clients[0].clientIdAlias, "sdk-app");

  const deleted = await authlete.client.management.deleteAuthorizations({
    serviceId,
    clientId: String(clientId),
    subjectPathParameter: subject,
    subjectQueryParameter: subject,
  });
  assert.equal(deleted.resultCode, "A210001");
  assert.equal(deleted.subject, subject);
  assert.equal(String(deleted.serviceApiKey), serviceId);
  assert.equal((await introspect(token.accessToken)).action, "UNAUTHORIZED");
  const after = await authlete.client.management.listAuthorizations({
    serviceId,
    subjectPathParameter: subject,
    subjectQueryParameter: subject,
  });
  assert.equal(after.totalCount, 0);
});
