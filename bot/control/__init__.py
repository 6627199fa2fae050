"""The operator control API (served by the daemon) and its client, `hedgebot ctl`.

auth      the bearer token: where it comes from, the constant-time check
listen    the address (host:port or unix:/path) and whether it is safe to serve there
settings  everything resolved from `[control]` before the daemon starts
server    the aiohttp application and the server that binds it
client    the async client; ctl and render: the command line and what it prints
"""
