"""appwarden.rules.checks"""
