// SPDX-License-Identifier: Apache-2.0
// No tests here: a test OIDC issuer. It serves an OpenID Connect Discovery document and a JWKS
// over HTTP on 127.0.0.1 and mints real jose-signed ID tokens (ES256), with knobs for the
// refusals the CA must make: expired, not yet valid, wrong audience, forged, rotated keys.
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

export interface MintOptions {
  audience?: string | string[];
  /** Seconds from now; negative for an expired token. Default 300. */
  expiresIn?: number;
  /** Seconds from now for nbf; omitted by default. */
  notBefore?: number;
  /** Seconds from now for iat. Default 0. */
  issuedAt?: number;
  /** Sign with a key the JWKS does not publish (a forgery under a published kid). */
  forge?: boolean;
  /** Override the issuer claim. */
  issuer?: string;
  /** Drop these standard claims. */
  omit?: string[];
  jti?: string | false;
}

export interface TestIssuer {
  /** The issuer URL (http://127.0.0.1:PORT), also the `iss` of its tokens. */
  url: string;
  /** Requests served so far, by path (discovery and JWKS fetches). */
  hits: Map<string, number>;
  mint(claims: Record<string, unknown>, opts?: MintOptions): Promise<string>;
  /** Replaces the signing key (new kid); the JWKS then publishes only the new key. */
  rotate(): Promise<void>;
  close(): Promise<void>;
}

interface Key {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function newKey(): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const kid = randomUUID();
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" } };
}

/** Starts a test issuer on 127.0.0.1:0. Default audience "sigstore". */
export async function startTestIssuer(): Promise<TestIssuer> {
  let key = await newKey();
  const forger = await newKey();
  const hits = new Map<string, number>();
  let url = "";
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const send = (body: unknown) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (path === "/.well-known/openid-configuration") {
      send({
        issuer: url,
        jwks_uri: `${url}/jwks`,
        response_types_supported: ["id_token"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["ES256"],
      });
    } else if (path === "/jwks") {
      send({ keys: [key.jwk] });
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    hits,
    async mint(claims, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload & Record<string, unknown> = {
        iss: opts.issuer ?? url,
        aud: opts.audience ?? "sigstore",
        iat: now + (opts.issuedAt ?? 0),
        exp: now + (opts.expiresIn ?? 300),
        ...(opts.notBefore === undefined ? {} : { nbf: now + opts.notBefore }),
        ...(opts.jti === false ? {} : { jti: opts.jti ?? randomUUID() }),
        ...claims,
      };
      for (const c of opts.omit ?? []) delete payload[c];
      const signWith = opts.forge ? forger.privateKey : key.privateKey;
      return new SignJWT(payload)
        .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "JWT" })
        .sign(signWith);
    },
    async rotate() {
      key = await newKey();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
