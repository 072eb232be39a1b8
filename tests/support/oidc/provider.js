// A real OpenID Connect provider on loopback for Ayuda's oidc-mode tests: panva/oidc-provider (OpenID
// Certified), with its development login page (any login/password), PKCE, JWT access tokens for resource
// indicators (the bearer tokens Ayuda's API accepts) and a `groups` claim.
//
//   PORT=9100 CLIENT_ID=ayuda CLIENT_SECRET=... REDIRECT_URI=http://127.0.0.1:8000/auth/callback \
//   ACCOUNTS='{"ana":{"email":"ana@x","groups":["managers"]}}' node provider.js
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

const env = process.env;
const port = Number(env.PORT || 9100);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(env.ACCOUNTS || "{}");
// Bearer tokens from the client_credentials grant stand for this account (a service or a test user).
const serviceAccount = JSON.parse(env.SERVICE_ACCOUNT || '{"email":"svc@example.test","groups":[]}');
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "test-key-1", use: "sig", alg: "RS256" };

const accountClaims = (id) => {
  const a = accounts[id] || {};
  return { sub: id, email: a.email || id, email_verified: true, groups: a.groups || [] };
};

const configuration = {
  clients: [{
    client_id: env.CLIENT_ID, client_secret: env.CLIENT_SECRET, redirect_uris: [env.REDIRECT_URI],
    grant_types: ["authorization_code", "client_credentials"], response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic", scope: "openid email groups api",
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: ["test-cookie-key-0123456789abcdef"] },
  pkce: { required: () => true },
  scopes: ["openid", "email", "groups", "api"],
  claims: { openid: ["sub"], email: ["email", "email_verified"], groups: ["groups"] },
  conformIdTokenClaims: false,  // scope claims (email, groups) go into the ID token too
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      // https://…/short-lived: same audience as its prefix, but the token lives 1 second (expiry tests).
      getResourceServerInfo: (ctx, resource) => ({
        scope: "api", audience: resource.replace(/\/short-lived$/, ""), accessTokenFormat: "jwt",
        accessTokenTTL: resource.endsWith("/short-lived") ? 1 : 600, jwt: { sign: { alg: "RS256" } },
      }),
    },
  },
  extraTokenClaims: async (ctx, token) => (token.kind === "ClientCredentials" ? serviceAccount : undefined),
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => accountClaims(id) }),
  // First-party client: no consent screen (the login page is the interaction the tests drive).
  loadExistingGrant: async (ctx) => {
    const grantId = (ctx.oidc.result && ctx.oidc.result.consent && ctx.oidc.result.consent.grantId)
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId,
                                                 accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid email groups");
    await grant.save();
    return grant;
  },
};

const provider = new Provider(issuer, configuration);
provider.listen(port, "127.0.0.1", () => console.log(`oidc-provider listening on ${issuer}`));
