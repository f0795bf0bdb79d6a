// A certified OpenID provider (panva/oidc-provider 8.x) for authfunnel's login tests.
//
//   node server.js [PORT]        PORT 0 (default): any free port on 127.0.0.1
//
// Prints one line, "listening on http://127.0.0.1:PORT", once it accepts connections; that URL
// is the issuer. Each start signs with a fresh RSA key; its key id is AUTHFUNNEL_TEST_KID when
// set (a restart with the same id and another key: tokens the CLI cannot verify with the keys it
// cached), else a fresh one. Logins use the provider's own development pages (any login, any
// password); the client is authfunnel's public native client, PKCE S256, loopback on any port,
// which may also log in by the device flow (RFC 8628).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 0);
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = {
  ...privateKey.export({ format: 'jwk' }),
  kid: process.env.AUTHFUNNEL_TEST_KID || randomUUID(),
  use: 'sig',
  alg: 'RS256',
};

function configuration() {
  return {
    clients: [{
      client_id: 'authfunnel-cli',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: [
        'authorization_code',
        'refresh_token',
        'urn:ietf:params:oauth:grant-type:device_code',
      ],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
    }],
    jwks: { keys: [jwk] },
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, name: `Test ${sub}`, email: `${sub}@example.com`, email_verified: true };
        },
      };
    },
    features: {
      devInteractions: { enabled: true },
      // RFC 8628: its own pages at /device take the user code, then the same login and consent.
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
    },
    // Refresh tokens are issued only to a request with prompt=consent (the provider's default
    // policy), and rotate on every use by a public client.
    pkce: { required: () => true, methods: ['S256'] },
    cookies: { keys: [randomUUID()] },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      // AUTHFUNNEL_TEST_DEVICE_TTL (seconds): a short-lived device code, to watch one expire.
      DeviceCode: Number(process.env.AUTHFUNNEL_TEST_DEVICE_TTL || 600),
      Grant: 86400,
      IdToken: 3600,
      Interaction: 600,
      RefreshToken: 86400,
      Session: 600,
    },
  };
}

// Bound first, so the issuer can carry the port the system chose.
const server = createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration());
  server.on('request', provider.callback());
  process.stdout.write(`listening on ${issuer}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
