"""How people prove who they are beyond a password: the OpenID Connect client (``oidc``)."""
