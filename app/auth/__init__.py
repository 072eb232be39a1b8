"""Authentication modes (AYUDA_AUTH_MODE): dev headers, a trusted SSO proxy, or OpenID Connect.

checks.py   start-up checks of the settings and of the listen address
request.py  the one place a request becomes a User (per mode), and the duplicate-header guard
proxy.py    proxy mode: X-Forwarded-* trusted only with the shared secret (and from trusted addresses)
names.py    normalize(): how ids and groups are compared (NFKC, lowercase)
oidc.py     oidc mode: discovery, JWKS, code exchange, bearer JWT verification (PyJWT)
session.py  oidc mode: the signed session cookie, the login-state cookie and the CSRF token
routes.py   /auth/session, /auth/login, /auth/callback, /auth/logout
"""
