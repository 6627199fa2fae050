"""The building blocks of `bot.config`, one module per concern, pure (no I/O at import).

`values`: strict finite numbers, durations, asset codes, the section base; `instruments`: the syntax of hedge
instruments; `ops`: the `[metrics]` and `[alerts]` sections; `toml`: the guards on what a TOML file may hold.
Import the config from `bot.config`, which re-exports what callers need.
"""
