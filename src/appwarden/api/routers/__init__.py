"""Thin routers: parse, check scope, call governance, commit, shape the answer."""
