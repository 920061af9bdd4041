"""The web application: routes, thin handlers, the stream transport, auth and security."""
