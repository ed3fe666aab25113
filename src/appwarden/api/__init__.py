"""appwarden.api"""
