"""Access tokens for XOAUTH2 (Microsoft 365, Gmail): a command the operator chooses prints a fresh one.

The agent does no OAuth flow itself: tenants differ (app-only client credentials for a Microsoft 365
shared mailbox, a service account or a refresh token for Gmail), and a small command the operator
already trusts (e.g. one using MSAL or oauth2l) keeps the client secret out of the agent's config.
"""

import subprocess

from agent.core.errors import AgentError

TIMEOUT = 30


def fetch_token(command: tuple[str, ...], what: str) -> str:
    """Run the token command; its first line of output is the token. Errors never quote the output."""
    try:
        done = subprocess.run(list(command), capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise AgentError(f"{what}: oauth2_token_command {command[0]} does not exist") from None
    except subprocess.TimeoutExpired:
        raise AgentError(f"{what}: oauth2_token_command gave no token within {TIMEOUT}s") from None
    except OSError as e:
        raise AgentError(f"{what}: oauth2_token_command cannot run ({e.strerror})") from None
    if done.returncode != 0:
        raise AgentError(f"{what}: oauth2_token_command exited {done.returncode}")
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    if not lines or not lines[0].strip():
        raise AgentError(f"{what}: oauth2_token_command printed no token")
    return lines[0].strip()


def xoauth2(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (before base64), as Google and Microsoft define it."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"
