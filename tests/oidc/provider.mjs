// A real OpenID provider for the single sign-on tests: panva's oidc-provider (OpenID Certified),
// with its development sign-in pages (any login; the password is not checked) and the accounts
// and client the test hands it. Usage: node provider.mjs CONFIG.json
// CONFIG: {"port": 0, "claims_in_id_token": true, "client": {"client_id", "client_secret", "redirect_uris": [...]},
//          "accounts": {"login": {"email": ..., "email_verified": true, "name": ..., "groups": [...], ...}}}
// Prints one line "listening <issuer>" once it answers.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import Provider from "oidc-provider";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const accounts = config.accounts;

async function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const port = config.port || (await freePort());
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{ ...config.client, grant_types: ["authorization_code"], response_types: ["code"] }],
  // true: the claims go into the ID token itself, as most providers put them; false: only to the
  // userinfo endpoint when an access token is issued, as the specification has it
  conformIdTokenClaims: !config.claims_in_id_token,
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "groups", "avatar_care_role"],
  },
  pkce: { required: () => true },
  cookies: { keys: ["a test provider's cookie key"] },
  async findAccount(_ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
});
provider.listen(port, "127.0.0.1", () => {
  console.log(`listening ${issuer}`);
});
