// An OpenID provider shaped like Microsoft Entra ID, for the single sign-on tests: the
// npm `oidc-provider` (pinned in package.json), its issuer per tenant,
// http://127.0.0.1:PORT/<tenant>/v2.0, and Entra's claims (tid, oid, acct, idp, xms_edov) in
// the ID token. Usage:
//
//     node provider.mjs PORT TENANT REDIRECT_URI DOMAIN
//
// DOMAIN is one of the tenant's domain names: its discovery document is served under
// /<DOMAIN>/v2.0 too, as Microsoft's is, so a domain can be resolved to the tenant.
//
// People are set with PUT /users/<login> and a JSON body of their claims; at the sign-in
// form, any password works. Prints "ready".

import http from 'node:http';
import Provider from 'oidc-provider';

// Only "ready" goes to standard output, which the tests stop reading after it.
for (const level of ['log', 'info', 'warn']) {
  console[level] = (...words) => process.stderr.write(`${words.join(' ')}\n`);
}

const [port, tenant, redirectUri, domain] = process.argv.slice(2);
const prefix = `/${tenant}/v2.0`;
const issuer = `http://127.0.0.1:${port}${prefix}`;
const people = new Map();

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'aup-portal',
    client_secret: 'test-secret',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: `pairwise-${id}`, tid: tenant, ...(people.get(id) ?? {}) };
      },
    };
  },
  claims: {
    openid: ['sub', 'tid', 'oid', 'acct', 'idp', 'xms_edov'],
    email: ['email'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
  },
  // Entra puts the claims in the ID token itself.
  conformIdTokenClaims: false,
  cookies: { keys: ['entra-test-provider'] },
});
provider.proxy = false;
const callback = provider.callback();

http.createServer((req, res) => {
  const user = req.url.match(/^\/users\/([^/?]+)$/);
  if (req.method === 'PUT' && user) {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      people.set(decodeURIComponent(user[1]), JSON.parse(body));
      res.writeHead(204).end();
    });
    return;
  }
  if (domain && req.url === `/${domain}/v2.0/.well-known/openid-configuration`) {
    req.url = `${prefix}/.well-known/openid-configuration`;
  }
  if (req.url.startsWith(prefix)) {
    req.originalUrl = req.url;
    req.url = req.url.slice(prefix.length) || '/';
    callback(req, res);
    return;
  }
  res.writeHead(404).end();
}).listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
