"""The provider's HTML: sign-in, sign-up, consent, device code and error pages (Jinja,
autoescaped).

Forms post back to the authorization URL they were shown on, so the OAuth request (client,
redirect, state, PKCE challenge) travels with the person through every screen.
"""

from __future__ import annotations

from typing import Final

# Served as /style.css, not inline: the pages' Content-Security-Policy allows only 'self'.
STYLE: Final = """\
body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}
label{display:block;margin:.6rem 0}input{width:100%;padding:.4rem;box-sizing:border-box}
button{padding:.5rem 1.2rem;margin:.8rem .5rem 0 0}.error{color:#a00}.muted{color:#666}
"""

_LAYOUT: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} · authfunnel dev provider</title>
<link rel="stylesheet" href="/style.css"></head><body><h1>{{ title }}</h1>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
{% if notice %}<p class="notice" role="status">{{ notice }}</p>{% endif %}
"""
# Every form carries its session's CSRF token (Flask-WTF): a page elsewhere cannot post one.
_CSRF: Final = '<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">'

SIGN_IN: Final = (
    _LAYOUT
    + """<form method="post" action="{{ action }}">
<input type="hidden" name="action" value="signin">
"""
    + _CSRF
    + """
<label>Email <input name="email" type="email" autocomplete="username" required
 value="{{ email }}"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"
 required></label>
<button type="submit" id="signin">Sign in</button></form>
{% if signup_url %}
<p class="muted">No account? <a id="to-signup" href="{{ signup_url }}">Create one</a></p>
{% endif %}
</body></html>"""
)

SIGN_UP: Final = (
    _LAYOUT
    + """<form method="post" action="{{ action }}">
<input type="hidden" name="action" value="signup">
"""
    + _CSRF
    + """
<label>Name <input name="name" required value="{{ name }}"></label>
<label>Email <input name="email" type="email" autocomplete="username" required
 value="{{ email }}"></label>
<label>Password <input name="password" type="password" autocomplete="new-password"
 minlength="8" required></label>
<button type="submit" id="signup">Create account</button></form>
<p class="muted">Have an account? <a id="to-signin" href="{{ signin_url }}">Sign in</a></p>
</body></html>"""
)

CONSENT: Final = (
    _LAYOUT
    + """<p>Signed in as <strong>{{ user.email }}</strong>.</p>
<p><strong>{{ client_name }}</strong> asks to:</p>
<ul>{% for scope in scopes %}<li>{{ scope }}</li>{% endfor %}</ul>
<form method="post" action="{{ action }}">
"""
    + _CSRF
    + """
<button type="submit" name="action" value="approve" id="approve">Approve</button>
<button type="submit" name="action" value="deny" id="deny">Deny</button></form>
</body></html>"""
)

# The device login (RFC 8628): where a person types the code the terminal shows.
DEVICE_CODE: Final = (
    _LAYOUT
    + """<p>Enter the code your terminal shows.</p>
<form method="post" action="{{ action }}">
"""
    + _CSRF
    + """
<label>Code <input name="user_code" autocomplete="off" autocapitalize="characters" required
 autofocus></label>
<button type="submit" id="continue">Continue</button></form>
</body></html>"""
)

ERROR: Final = _LAYOUT + "<p>{{ message }}</p></body></html>"

INDEX: Final = (
    _LAYOUT
    + """<p>An OAuth 2.0 provider for trying authfunnel. Endpoints:</p>
<ul>{% for name, url in endpoints %}<li>{{ name }}: <code>{{ url }}</code></li>{% endfor %}</ul>
</body></html>"""
)
