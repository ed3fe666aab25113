"""appwarden.rules"""
