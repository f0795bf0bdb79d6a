"""The dev provider's one client and its seeded demo account, which the demo signs in with."""

from typing import Final

CLIENT_ID: Final = "authfunnel-cli"
DEMO_EMAIL: Final = "demo@example.com"
DEMO_PASSWORD: Final = "demo-password"
DEMO_APP: Final = "demo-app"
